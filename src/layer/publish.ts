// The last step of every import: read the staged tree back, name it by its
// content, sync the filesystem once, and publish it by rename.
import type {Home} from '../store/home.js'
import {sys} from '../sys.js'
import {join} from 'node:path'
import {discard, writeFileAt} from '../store/fsutil.js'
import {conflict, isNotFound} from '../errors.js'
import {scanTree} from './scan.js'
import {type Entry, treeId} from '../format/entry.js'
import {DIGESTS, type LayerInfo, LayerStore, checkLayerName} from './layers.js'
import type {TreeWriter} from './writer.js'
import {ObjectStore} from '../store/objects.js'
import type {TreeRecord} from '../store/digest-cache.js'

export interface Tally {
  entries: number
  contentBytes: number
  bytesDone: number
  objectsAdded: number
  objectBytesAdded: number
  devices: number
  sockets: number
  skippedPaths: string[]
}

export const newTally = (): Tally => ({entries: 0, contentBytes: 0, bytesDone: 0, objectsAdded: 0, objectBytesAdded: 0, devices: 0, sockets: 0, skippedPaths: []})

export interface ImportResult {
  layer: LayerInfo
  existing: boolean // the same content was already a layer
  nameMovedFrom: string | null
}

export function publishStaged(
  home: Home,
  staging: string,
  writer: TreeWriter,
  tally: Tally,
  source: LayerInfo['source'],
  inlineLimit: number,
  name?: string,
): ImportResult {
  if (name) checkLayerName(name)
  const store = new LayerStore(home)
  const entries = writer.recorded() ?? scanTree(writer.root, writer.index)
  const id = treeId(entries)
  // the same content published already: held while we name it, so no `layer rm` takes it meanwhile (one that did: ours is published)
  let hold = store.has(id) ? tryHold(store, id) : null
  let existing = hold !== null
  if (!existing) {
    const owners = writer.unkeptOwners()
    const held = countsOf(entries)
    const info: LayerInfo = {
      id,
      names: [],
      source,
      created: new Date().toISOString(),
      inlineLimit,
      // counted from what the tree holds (a tar's later entry replaces an earlier one), not from what was written
      counts: held.counts,
      bytes: {content: held.content, objectsAdded: tally.objectsAdded, objectBytesAdded: tally.objectBytesAdded},
      skipped: {devices: tally.devices, sockets: tally.sockets, squashedOwners: owners.count, paths: [...tally.skippedPaths, ...owners.paths].slice(0, 100)},
    }
    writeFileAt(join(staging, DIGESTS), writer.index.encode())
    store.writeStagedInfo(staging, info)
    // objects and tree reach the disk before anything refers to them by name
    sys.syncfs(home.root)
    store.recordBlob(info) // before it is published: every layer made of a blob has its link
    existing = !store.publish(staging, id)
    hold = tryHold(store, id)
  }
  if (!hold) {
    discard(staging)
    throw conflict(`layer ${id.slice(0, 12)} was removed as it was published`, 'import it again')
  }
  try {
    if (existing) discard(staging)
    const nameMovedFrom = (name ? store.addName(id, name) : undefined) ?? null
    return {layer: store.get(id), existing, nameMovedFrom}
  } finally {
    hold.release()
  }
}

/** The layer held shared, or null when it was removed (docs/design.md, Locking). */
function tryHold(store: LayerStore, id: string) {
  try {
    return store.hold(id)
  } catch (e) {
    if (isNotFound(e)) return null
    throw e
  }
}

/** A tree's entries by kind (a hardlink's extra names as hardlinks), and its content bytes (each inode once). */
export function countsOf(entries: Entry[]): {counts: LayerInfo['counts']; content: number} {
  const counts = {entries: entries.length, dirs: 0, files: 0, stubs: 0, symlinks: 0, fifos: 0, whiteouts: 0, hardlinks: 0}
  let content = 0
  for (const e of entries) {
    if (e.linkTo) counts.hardlinks++
    else {
      counts[`${e.type}s` as 'dirs']++
      if (e.type === 'file' || e.type === 'stub') content += e.size
    }
  }
  return {counts, content}
}

/**
 * The layer a source became at its last import, as this import's result
 * (named as asked), when nothing changed since: the same settings, the same
 * fingerprint (computed only then: it may walk a whole tree), and the store
 * has the layer whole (by default read from its stubs; a caller that knows
 * the layer's digests asks the cheaper way). Null otherwise: the import
 * proper runs, and restores whatever is missing.
 */
export function unchangedSince(
  home: Home,
  last: TreeRecord | undefined,
  settings: string,
  fingerprint: () => string | null,
  name?: string,
  whole = (id: string) => new LayerStore(home).whole(id, new ObjectStore(home.objects, home.tmp)),
): ImportResult | null {
  if (last?.settings !== settings) return null
  if (name) checkLayerName(name)
  const store = new LayerStore(home)
  if (!store.has(last.layer) || fingerprint() !== last.fingerprint) return null
  const hold = tryHold(store, last.layer)
  if (!hold) return null
  try {
    if (!whole(last.layer)) return null
    const nameMovedFrom = (name ? store.addName(last.layer, name) : undefined) ?? null
    return {layer: store.get(last.layer), existing: true, nameMovedFrom}
  } finally {
    hold.release()
  }
}
