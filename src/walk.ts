// The one tree walk: every entry of a tree as sys.scanDir reads it (lstat,
// user.* xattrs, a symlink's target: one native call per directory), depth
// first, each directory before what it holds. Directory import, stamp, the
// layer reader (scan), and diff and commit reading an upper (stack/changes.ts,
// which reads a directory its own way: `.wh.` names) walk with it.
import {constants as C} from 'node:fs'
import {sys, type ScannedEntry} from './sys.js'

export const isDir = (e: ScannedEntry) => (e[1] & C.S_IFMT) === C.S_IFDIR
/** The inode an ident names ("dev:ino", its first word): hardlinks share it. */
export const inodeOf = (ident: string) => ident.slice(0, ident.indexOf(' '))

const SLASH = Buffer.from('/')

export interface WalkOptions {
  /** An entry left out, with everything below it. */
  prune?: (rel: Buffer, e: ScannedEntry) => boolean
  /** The order of a directory's entries (default: as the directory lists them). */
  order?: (a: ScannedEntry, b: ScannedEntry) => number
  /** How a directory is read: the caller may name a failure its own way. */
  read?: (dir: Buffer) => ScannedEntry[]
}

/** [path relative to root (empty for the root), entry] for every entry of the tree at root. */
export function* walkTree(root: string | Buffer, o: WalkOptions = {}): Generator<[rel: Buffer, e: ScannedEntry]> {
  const top = Buffer.from(root)
  const read = o.read ?? ((d: Buffer) => sys.scanDir(d))
  function* visit(rel: Buffer, e: ScannedEntry): Generator<[Buffer, ScannedEntry]> {
    if (o.prune?.(rel, e)) return
    yield [rel, e]
    if (!isDir(e)) return
    const children = read(rel.length ? Buffer.concat([top, SLASH, rel]) : top)
    if (o.order) children.sort(o.order)
    for (const c of children) yield* visit(rel.length ? Buffer.concat([rel, SLASH, c[0]]) : c[0], c)
  }
  yield* visit(Buffer.alloc(0), sys.scanEntry(top))
}
