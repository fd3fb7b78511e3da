// A stack's layers merged bottom-up into one metadata tree, the single lower
// the kernel accepts stubs in. Whiteouts and opaque dirs are applied, dirs take
// the metadata of the topmost layer that has them, and every other entry is a
// hardlink to the layer's own inode: metadata operations only.
import {sha256Hex} from '../sha256.js'
import {existsSync, linkSync, lstatSync, mkdirSync, readdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import type {Home} from '../store/home.js'
import {LayerStore} from '../layer/layers.js'
import {scanTree, abs} from '../layer/scan.js'
import type {Entry} from '../format/entry.js'
import {TreeWriter} from '../layer/writer.js'
import {removeTree} from '../store/fsutil.js'
import {buildCached} from '../store/staging.js'

/** Chain id: what a composed tree is cached under. Layers top first. */
export function chainId(layerIds: string[]): string {
  // plain JS: `run` computes this on its start-up path, where loading node:crypto costs more (src/sha256.ts)
  return sha256Hex('strata-chain-v1\n' + layerIds.join('\n'))
}

export function composedPath(home: Home, layerIds: string[]) {
  return join(home.composed, chainId(layerIds))
}

/** The composed tree of these layers (top first), built if it is not cached. */
export function ensureComposed(home: Home, layerIds: string[]): string {
  const target = composedPath(home, layerIds)
  if (existsSync(target)) return target
  home.ensure()
  const layers = new LayerStore(home)
  return buildCached(home.tmp, 'compose', target, (root) => {
    const dirs = new Map<string, {layer: string; entry: Entry}>() // path (hex) → topmost layer's dir entry
    mkdirSync(root)
    for (const id of [...layerIds].reverse()) {
      const tree = layers.tree(id)
      for (const e of scanTree(tree)) applyEntry(root, tree, e, dirs)
    }
    // dir metadata last and deepest first, after every child is in place
    const w = new TreeWriter(root)
    const ordered = [...dirs.values()].sort((a, b) => b.entry.path.length - a.entry.path.length)
    for (const {entry} of ordered) w.apply(w.path(entry.path), entry, true)
  })
}

function applyEntry(root: string, tree: string, e: Entry, dirs: Map<string, {layer: string; entry: Entry}>) {
  const dst = abs(root, e.path)
  const key = e.path.toString('hex')
  if (e.path.length === 0) {
    if (e.opaque) clearDir(dst, dirs, key)
    if (!e.implicit || !dirs.has(key)) dirs.set(key, {layer: tree, entry: e})
    return
  }
  const existing = lstatOrNull(dst)
  if (e.type === 'whiteout') {
    if (existing) remove(dst, existing.isDirectory(), dirs, key)
    return
  }
  if (e.type === 'dir') {
    if (existing && !existing.isDirectory()) rmSync(dst, {force: true})
    if (existing?.isDirectory()) {
      if (e.opaque) clearDir(dst, dirs, key)
    } else mkdirSync(dst, {mode: 0o700})
    // a directory an archive only implied takes the metadata of the layers below
    if (!e.implicit || !dirs.has(key)) dirs.set(key, {layer: tree, entry: e})
    return
  }
  if (existing) remove(dst, existing.isDirectory(), dirs, key)
  linkSync(abs(tree, e.path), dst)
}

function remove(p: Buffer, isDir: boolean, dirs: Map<string, unknown>, key: string) {
  if (isDir) {
    for (const k of [...dirs.keys()]) if (k === key || k.startsWith(key + '2f')) dirs.delete(k)
    removeTree(p)
  } else rmSync(p, {force: true})
}

function clearDir(p: Buffer, dirs: Map<string, unknown>, key: string) {
  for (const k of [...dirs.keys()]) if (k.startsWith(key === '' ? '' : key + '2f') && k !== key) dirs.delete(k)
  for (const n of readdirSync(p, {encoding: 'buffer'})) removeTree(Buffer.concat([p, Buffer.from('/'), n]))
}

function lstatOrNull(p: Buffer) {
  try {
    return lstatSync(p)
  } catch {
    return null
  }
}

