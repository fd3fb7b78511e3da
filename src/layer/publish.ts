// The last step of every import: read the staged tree back, name it by its
// content, sync the filesystem once, and publish it by rename.
import type {Home} from '../store/home.js'
import {sys} from '../sys.js'
import {discard} from '../store/fsutil.js'
import {scanTree} from './scan.js'
import {treeId} from '../format/entry.js'
import {type LayerInfo, LayerStore, checkLayerName} from './layers.js'
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
  const entries = writer.recorded() ?? scanTree(writer.root)
  const id = treeId(entries)
  let existing = store.has(id)
  if (!existing) {
    const c = writer.counts
    const info: LayerInfo = {
      id,
      names: [],
      source,
      created: new Date().toISOString(),
      inlineLimit,
      counts: {entries: entries.length, dirs: c.dirs, files: c.files, stubs: c.stubs, symlinks: c.symlinks, fifos: c.fifos, whiteouts: c.whiteouts, hardlinks: c.hardlinks},
      bytes: {content: tally.contentBytes, objectsAdded: tally.objectsAdded, objectBytesAdded: tally.objectBytesAdded},
      skipped: {devices: tally.devices, sockets: tally.sockets, squashedOwners: c.squashedOwners, paths: tally.skippedPaths},
    }
    store.writeStagedInfo(staging, info)
    // objects and tree reach the disk before anything refers to them by name
    sys.syncfs(home.root)
    existing = !store.publish(staging, id)
  }
  if (existing) discard(staging)
  const nameMovedFrom = (name ? store.addName(id, name) : undefined) ?? null
  return {layer: store.get(id), existing, nameMovedFrom}
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
  if (!store.has(last.layer) || fingerprint() !== last.fingerprint || !whole(last.layer)) return null
  const nameMovedFrom = (name ? store.addName(last.layer, name) : undefined) ?? null
  return {layer: store.get(last.layer), existing: true, nameMovedFrom}
}
