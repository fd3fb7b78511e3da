// The last step of every import: read the staged tree back, name it by its
// content, sync the filesystem once, and publish it by rename.
import type {Home} from '../store/home.js'
import {sys} from '../sys/index.js'
import {removeTree} from '../store/fsutil.js'
import {scanTree} from './scan.js'
import {treeId} from './entry.js'
import {type LayerInfo, LayerStore, checkLayerName} from './layers.js'
import type {TreeWriter} from './writer.js'

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
    store.writeInfo(staging, info)
    // objects and tree reach the disk before anything refers to them by name
    sys.syncfs(home.root)
    existing = !store.publish(staging, id)
  }
  if (existing) removeTree(staging)
  const nameMovedFrom = (name ? store.addName(id, name) : undefined) ?? null
  return {layer: store.get(id), existing, nameMovedFrom}
}

/**
 * A layer the store has, as an import's result (named as asked), or null
 * when the store doesn't have it. Returned as a function: the caller decides
 * whether to take it (naming it changes the store).
 */
export function publishedAlready(home: Home, id: string, name?: string): (() => ImportResult) | null {
  if (name) checkLayerName(name)
  const store = new LayerStore(home)
  if (!store.has(id)) return null
  return () => {
    const nameMovedFrom = (name ? store.addName(id, name) : undefined) ?? null
    return {layer: store.get(id), existing: true, nameMovedFrom}
  }
}
