// Reads a tree in stub form back into entries: the one reader behind layer
// ids, `check`, composition and export.
import {constants as C, readdirSync, lstatSync, readlinkSync, type BigIntStats} from 'node:fs'
import {fileSha256} from '../store/digest.js'
import {sys} from '../sys.js'
import {IMPLICIT, METACOPY, OPAQUE, REDIRECT, decodeMetacopy, decodeRedirect, isStructural, unescapeName} from '../format/xattrs.js'
import {type Entry, comparePaths, joinPath} from '../format/entry.js'
import type {DigestIndex} from '../format/digest-index.js'

const SLASH = Buffer.from('/')

export const abs = (root: string, rel: Buffer) =>
  rel.length === 0 ? Buffer.from(root) : Buffer.concat([Buffer.from(root), SLASH, rel])

/**
 * Every entry of the tree at root, parents before children, in byte order.
 * Stubs of either form: the digest form carries its digest, a short stub's
 * comes from index (its layer's, see LayerStore.index), and is absent without one.
 */
export function scanTree(root: string, index?: DigestIndex): Entry[] {
  const out: Entry[] = []
  const firstOfInode = new Map<bigint, Entry>()
  const walk = (rel: Buffer) => {
    const p = abs(root, rel)
    const st = lstatSync(p, {bigint: true})
    const e = entryOf(p, rel, st, index)
    out.push(e)
    if (st.nlink > 1n && e.type !== 'dir') {
      const first = firstOfInode.get(st.ino)
      if (first) e.linkTo = first.linkTo ?? first.path
      else firstOfInode.set(st.ino, e)
    }
    if (e.type === 'dir') {
      const names = readdirSync(p, {encoding: 'buffer'}).sort(comparePaths)
      for (const n of names) walk(joinPath(rel, n))
    }
  }
  walk(Buffer.alloc(0))
  return out
}

export function entryOf(p: Buffer, rel: Buffer, st: BigIntStats, index?: DigestIndex): Entry {
  const fmt = Number(st.mode) & C.S_IFMT
  const base = {
    path: rel,
    mode: Number(st.mode) & 0o7777,
    uid: Number(st.uid),
    gid: Number(st.gid),
    mtimeNs: st.mtimeNs,
    size: Number(st.size),
    xattrs: [] as [string, Buffer][],
  }
  if (fmt === C.S_IFDIR) {
    const x = readXattrs(p)
    return {...base, type: 'dir', size: 0, xattrs: x.own, opaque: x.opaque, ...(x.implicit ? {implicit: true} : {})}
  }
  if (fmt === C.S_IFREG) {
    const x = readXattrs(p)
    if (x.stub) {
      const digest = x.digest ?? (x.object ? index?.resolve(x.object) : undefined)
      return {...base, type: 'stub', ...(digest ? {digest} : {}), object: x.object ?? digest, xattrs: x.own}
    }
    return {...base, type: 'file', inline: fileSha256(p).hex, xattrs: x.own}
  }
  if (fmt === C.S_IFLNK) return {...base, type: 'symlink', target: readlinkSync(p, {encoding: 'buffer'})}
  if (fmt === C.S_IFIFO) return {...base, type: 'fifo', size: 0}
  if (fmt === C.S_IFCHR && st.rdev === 0n) return {...base, type: 'whiteout', size: 0}
  throw new Error(`unexpected file type in a layer tree: ${p.toString()}`)
}

interface Xattrs {own: [string, Buffer][]; stub: boolean; digest?: string; object?: string; opaque: boolean; implicit: boolean}

function readXattrs(p: Buffer): Xattrs {
  const own: [string, Buffer][] = []
  let digest: string | undefined
  let object: string | undefined
  let stub = false
  let opaque = false
  let implicit = false
  for (const name of sys.listxattr(p).sort()) {
    if (!name.startsWith('user.')) continue
    const v = sys.getxattr(p, name)
    if (v === null) continue
    if (name === METACOPY) {
      stub = true
      digest = decodeMetacopy(v) ?? undefined
    } else if (name === REDIRECT) object = decodeRedirect(v) ?? undefined
    else if (name === OPAQUE) opaque = v.toString() === 'y'
    else if (name === IMPLICIT) implicit = true
    else if (!isStructural(name)) own.push([unescapeName(name), v])
  }
  return {own, stub, digest, object, opaque, implicit}
}

