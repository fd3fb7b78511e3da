// Reads a tree in stub form back into entries: the one reader behind layer
// ids, `check`, composition and export.
import {constants as C} from 'node:fs'
import {fileSha256} from '../store/digest.js'
import type {ScannedEntry} from '../sys.js'
import {inodeOf, walkTree} from '../walk.js'
import {IMPLICIT, METACOPY, OPAQUE, REDIRECT, decodeMetacopy, isStructural, unescapeName} from '../format/xattrs.js'
import {type Entry, comparePaths} from '../format/entry.js'

const SLASH = Buffer.from('/')

export const abs = (root: string, rel: Buffer) =>
  rel.length === 0 ? Buffer.from(root) : Buffer.concat([Buffer.from(root), SLASH, rel])

/** Every entry of the tree at root, parents before children, in byte order. */
export function scanTree(root: string): Entry[] {
  const out: Entry[] = []
  const firstOfInode = new Map<string, Entry>()
  for (const [rel, s] of walkTree(root, {order: (a, b) => comparePaths(a[0], b[0])})) {
    const e = entryOf(abs(root, rel), rel, s)
    out.push(e)
    if (s[5] > 1 && e.type !== 'dir') {
      const inode = inodeOf(s[9])
      const first = firstOfInode.get(inode)
      if (first) e.linkTo = first.linkTo ?? first.path
      else firstOfInode.set(inode, e)
    }
  }
  return out
}

/** The entry a layer tree holds at p, from what sys.scanDir (or scanEntry) read of it. */
export function entryOf(p: Buffer, rel: Buffer, s: ScannedEntry): Entry {
  const [, mode, uid, gid, size, , rdev, , mtimeNs, , xattrs, target] = s
  const fmt = mode & C.S_IFMT
  const base = {path: rel, mode: mode & 0o7777, uid, gid, mtimeNs, size, xattrs: [] as [string, Buffer][]}
  if (fmt === C.S_IFDIR) {
    const x = readXattrs(xattrs)
    return {...base, type: 'dir', size: 0, xattrs: x.own, opaque: x.opaque, ...(x.implicit ? {implicit: true} : {})}
  }
  if (fmt === C.S_IFREG) {
    const x = readXattrs(xattrs)
    if (x.digest) return {...base, type: 'stub', digest: x.digest, xattrs: x.own}
    return {...base, type: 'file', inline: fileSha256(p).hex, xattrs: x.own}
  }
  if (fmt === C.S_IFLNK) return {...base, type: 'symlink', target: target!}
  if (fmt === C.S_IFIFO) return {...base, type: 'fifo', size: 0}
  if (fmt === C.S_IFCHR && rdev === 0) return {...base, type: 'whiteout', size: 0}
  throw new Error(`unexpected file type in a layer tree: ${p.toString()}`)
}

interface Xattrs {own: [string, Buffer][]; digest?: string; opaque: boolean; implicit: boolean}

function readXattrs(all: [string, Buffer][] | null): Xattrs {
  const own: [string, Buffer][] = []
  let digest: string | undefined
  let opaque = false
  let implicit = false
  for (const [name, v] of [...(all ?? [])].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    if (!name.startsWith('user.')) continue
    if (name === METACOPY) digest = decodeMetacopy(v) ?? undefined
    else if (name === OPAQUE) opaque = v.toString() === 'y'
    else if (name === IMPLICIT) implicit = true
    else if (name === REDIRECT) continue
    else if (!isStructural(name)) own.push([unescapeName(name), v])
  }
  return {own, digest, opaque, implicit}
}

