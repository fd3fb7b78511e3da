// `strata diff`, `commit` and `reset`: a stack's upper read as changes, made
// into a layer on top of the stack, or discarded. Run inside the namespace:
// the upper's files have mapped owners.
import {existsSync, readdirSync, readlinkSync} from 'node:fs'
import type {Home} from '../store/home.js'
import {StoreLock} from '../store/lock.js'
import {discard, leftoverStaging} from '../store/fsutil.js'
import {ensureComposed} from './compose.js'
import {LayerStore, type LayerInfo} from '../layer/layers.js'
import type {Meta} from '../format/entry.js'
import {DEFAULT_INLINE_LIMIT, buildLayer} from '../layer/builder.js'
import {StackStore} from './stacks.js'
import {type ChangeJSON, type UpperNode, changeJSON, readChanges} from './changes.js'
import {join} from 'node:path'

export interface DiffResult {stack: string; changes: ChangeJSON[]}
export interface CommitResult {stack: string; layer: LayerInfo | null; changes: number; nameMovedFrom: string | null}
export interface ResetResult {stack: string; discarded: number}

function changesOf(home: Home, name: string) {
  const stacks = new StackStore(home)
  const stack = stacks.get(name)
  const composed = ensureComposed(home, stack.layers)
  return {stacks, stack, ...readChanges(stacks.upper(name), stack.backend === 'fuse' ? 'fuse' : 'kernel', composed)}
}

export function diffStack(home: Home, name: string): DiffResult {
  return {stack: name, changes: changesOf(home, name).changes.map(changeJSON)}
}

/**
 * The upper's changes as a new layer on top of the stack. All or nothing:
 * the layer is published, its chain composed and a fresh upper staged (all
 * that takes space) before stack.json names the layer; the upper is swapped
 * for the fresh one only after. (Should we die between those two steps, the
 * old upper over the new layer shows the same merged view.)
 */
export async function commitStack(home: Home, name: string, layerName?: string): Promise<CommitResult> {
  const stacks = new StackStore(home)
  const unlock = stacks.lock(name)
  const storeLock = StoreLock.shared(home) // gc must not remove objects the new layer refers to
  try {
    mendBeforeUse(home, stacks, name)
    const {stack, nodes, changes} = changesOf(home, name)
    if (changes.length === 0) {
      // an upper holding only what its layers hold (a commit killed after stack.json
      // named its layer, before the upper was swapped): finish that commit's work
      if (readdirSync(stacks.upper(name)).length) stacks.replaceUpper(name, ensureComposed(home, stack.layers))
      return {stack: name, layer: null, changes: 0, nameMovedFrom: null}
    }
    const top = new LayerStore(home).get(stack.layers[0])
    const r = await writeLayer(home, stacks.upper(name), nodes, top.inlineLimit ?? DEFAULT_INLINE_LIMIT, layerName)
    const layers = [r.layer.id, ...stack.layers]
    const staged = stacks.stageUpper(name, ensureComposed(home, layers))
    try {
      stacks.setLayers(name, layers)
      stacks.swapUpper(name, staged)
    } finally {
      discard(staged)
    }
    return {stack: name, layer: r.layer, changes: changes.length, nameMovedFrom: r.nameMovedFrom}
  } finally {
    unlock()
    storeLock.release()
  }
}

export function resetStack(home: Home, name: string): ResetResult {
  const stacks = new StackStore(home)
  const unlock = stacks.lock(name)
  try {
    mendBeforeUse(home, stacks, name)
    const {stack, changes} = changesOf(home, name)
    stacks.replaceUpper(name, ensureComposed(home, stack.layers))
    return {stack: name, discarded: changes.length}
  } finally {
    unlock()
  }
}

/**
 * A stack a crash left without its upper or work (on a filesystem without
 * RENAME_EXCHANGE, or by an older strata) is mended first, as `check
 * --repair` would: under the stack's lock nobody else is swapping them.
 */
function mendBeforeUse(home: Home, stacks: StackStore, name: string) {
  const dir = stacks.dir(name)
  if (['upper', 'work', 'merged'].every((d) => existsSync(join(dir, d)))) return
  stacks.mend(name, leftoverStaging(home.tmp))
}

/** Parents of changes, so a layer can hold them: kept with their (unchanged) metadata. */
function needed(nodes: UpperNode[]): UpperNode[] {
  const keep = new Set<string>([''])
  for (const n of nodes) {
    if (!n.change) continue
    for (let i = n.rel.lastIndexOf(0x2f); i > 0; i = n.rel.lastIndexOf(0x2f, i - 1)) keep.add(n.rel.subarray(0, i).toString('hex'))
  }
  return nodes.filter((n) => n.change || (n.type === 'dir' && keep.has(n.rel.toString('hex'))))
}

const metaOf = (n: UpperNode): Meta => ({
  mode: Number(n.st!.mode) & 0o7777,
  uid: Number(n.st!.uid),
  gid: Number(n.st!.gid),
  mtimeNs: n.st!.mtimeNs,
  atimeNs: n.st!.atimeNs,
  xattrs: n.xattrs,
})

/**
 * Writes the changes in stub form with the layer builder directory imports
 * use: whiteouts in the one form layers use (a 0/0 device, no metadata of
 * its own, whichever form the upper had), opaque directories marked,
 * hardlinks kept.
 */
function writeLayer(home: Home, upper: string, nodes: UpperNode[], inlineLimit: number, layerName?: string) {
  return buildLayer(home, {kind: 'commit', inlineLimit, source: {kind: 'commit', path: upper}, name: layerName}, async (b) => {
    for (const n of needed(nodes)) {
      await b.breathe()
      if (n.type === 'whiteout') {
        b.writer.whiteout(n.rel)
        b.tally.entries++
      } else if (n.type === 'dir') b.writer.dir(n.rel, metaOf(n), n.change === 'opaque')
      else if (n.type === 'socket' || n.type === 'device') b.skip(n.rel, n.type)
      else if (b.sameInode(n.rel, `${n.st!.dev}:${n.st!.ino}`, Number(n.st!.nlink))) continue
      else if (n.type === 'symlink') b.writer.symlink(n.rel, metaOf(n), readlinkSync(n.src, {encoding: 'buffer'}))
      else if (n.type === 'fifo') b.writer.fifo(n.rel, metaOf(n))
      else b.file(n.rel, n.src, metaOf(n), Number(n.st!.size))
    }
  })
}
