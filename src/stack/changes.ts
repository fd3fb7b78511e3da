// What a stack's upper changed, relative to its layers: the upper read in
// whatever form wrote it (kernel overlayfs or fuse-overlayfs), each entry
// compared with what the composed tree shows at its path. `diff` lists the
// result; `commit` turns it into a layer.
import {closeSync, constants as C, lstatSync, openSync, readSync, readlinkSync, type BigIntStats} from 'node:fs'
import {isUtf8} from 'node:buffer'
import {sys} from '../sys.js'
import {FUSE_OPAQUE, FUSE_PREFIX, METACOPY, OPAQUE, PREFIX, WHITEOUT, WH_OPAQUE, WH_PREFIX, decodeMetacopy, isStructural, unescapeName} from '../format/xattrs.js'
import {VerityHasher} from '../store/digest.js'
import {abs} from '../layer/scan.js'
import {walkTree, inodeOf} from '../walk.js'
import type {ScannedEntry} from '../sys.js'

export type ChangeKind = 'added' | 'changed' | 'deleted' | 'opaque'
export type NodeType = 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'device'

/** One entry of an upper, whatever form wrote it. */
export interface UpperNode {
  rel: Buffer // its path in the merged view; empty for the root
  src: Buffer // where it is in the upper
  type: NodeType | 'whiteout'
  st: Stat | null // null for a whiteout
  xattrs: [string, Buffer][] // its own user.* xattrs, unescaped
  opaque: boolean // dir: hides the layers' entries below it
  change?: ChangeKind
  lowerType?: NodeType // what the layers show at its path, if anything
}

export interface Changes {
  nodes: UpperNode[] // the whole upper, parents before children, each directory's names in byte order
  changes: UpperNode[] // those that change the merged view
}

const WH = Buffer.from(WH_PREFIX)
const OPQ = Buffer.from(WH_OPAQUE)

const isGone = (e: unknown) => ['ENOENT', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '')

function typeOf(st: Pick<BigIntStats, 'mode' | 'rdev'>): NodeType | 'whiteout' {
  const fmt = Number(st.mode) & C.S_IFMT
  if (fmt === C.S_IFDIR) return 'dir'
  if (fmt === C.S_IFREG) return 'file'
  if (fmt === C.S_IFLNK) return 'symlink'
  if (fmt === C.S_IFIFO) return 'fifo'
  if (fmt === C.S_IFSOCK) return 'socket'
  if (fmt === C.S_IFCHR && st.rdev === 0n) return 'whiteout'
  return 'device'
}

export interface OverlayXattrs {own: [string, Buffer][]; opaque: boolean; whiteout: boolean; digest?: string}

/**
 * Which backend wrote an upper decides what its user.overlay.* xattrs are.
 * The kernel (userxattr) owns that namespace and keeps a file's own
 * user.overlay.X escaped as user.overlay.overlay.X; fuse-overlayfs keeps its
 * state under user.fuseoverlayfs.*, reads user.overlay.opaque, and stores a
 * file's xattrs as the merged view shows them (those copied up from a
 * layer still escaped).
 */
export type UpperForm = 'kernel' | 'fuse'

/** A file's xattrs split into overlay structure and its own (unescaped). Layer and composed trees are in kernel form. */
export function overlayXattrs(p: Buffer, form: UpperForm = 'kernel'): OverlayXattrs {
  const all: [string, Buffer][] = []
  for (const name of sys.listxattr(p)) {
    const v = name.startsWith('user.') ? sys.getxattr(p, name) : null
    if (v !== null) all.push([name, v])
  }
  return overlayXattrsOf(all, form)
}

/** The same, of xattrs already read (as sys.scanDir gives them). */
export function overlayXattrsOf(all: [string, Buffer][], form: UpperForm = 'kernel'): OverlayXattrs {
  const r: OverlayXattrs = {own: [], opaque: false, whiteout: false}
  for (const [name, v] of [...all].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    if (!name.startsWith('user.')) continue
    // 'x' marks a directory holding xattr whiteouts, not an opaque one
    if (name === OPAQUE || name === FUSE_OPAQUE) r.opaque ||= v.toString() === 'y'
    else if (name.startsWith(FUSE_PREFIX)) continue
    else if (name.startsWith(PREFIX + 'overlay.')) r.own.push([unescapeName(name), v])
    else if (form === 'fuse') r.own.push([name, v])
    else if (name === WHITEOUT) r.whiteout = true
    else if (name === METACOPY) r.digest = decodeMetacopy(v) ?? undefined
    else if (isStructural(name)) continue
    else r.own.push([name, v])
  }
  r.own.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  return r
}

/**
 * Reads an upper into nodes. Whiteouts come as 0/0 character devices, as
 * empty files carrying user.overlay.whiteout, or as `.wh.NAME` files; opaque
 * directories by xattr or by a `.wh..wh..opq` file. The upper of a mounted
 * stack may change while it is read: what vanishes meanwhile is skipped.
 */
export function readUpper(upper: string, form: UpperForm): UpperNode[] {
  const out: UpperNode[] = []
  const byName = (x: ScannedEntry, y: ScannedEntry) => Buffer.compare(x[0], y[0])
  for (const [rel, e] of walkTree(upper, {read: upperChildren, order: byName})) {
    if (rel.length === 0 && (e[1] & C.S_IFMT) !== C.S_IFDIR) throw new Error(`the upper ${upper} is not a directory`)
    out.push(node(abs(upper, rel), rel, e, form))
  }
  return out
}

/** What lstat said, in the shape the readers of nodes use (node:fs's bigint stats). */
export type Stat = Pick<BigIntStats, 'mode' | 'uid' | 'gid' | 'size' | 'nlink' | 'dev' | 'ino' | 'rdev' | 'mtimeNs' | 'atimeNs'>

function statOf(e: ScannedEntry): Stat {
  const [dev, ino] = inodeOf(e[9]).split(':').map(BigInt)
  return {mode: BigInt(e[1]), uid: BigInt(e[2]), gid: BigInt(e[3]), size: BigInt(e[4]), nlink: BigInt(e[5]), rdev: BigInt(e[6]), atimeNs: e[7], mtimeNs: e[8], dev, ino}
}

function node(src: Buffer, rel: Buffer, e: ScannedEntry, form: UpperForm): UpperNode {
  const st = statOf(e)
  if (whiteoutNamed.has(e)) return {rel, src, type: 'whiteout', st: null, xattrs: [], opaque: false}
  const type = typeOf(st)
  if (type === 'symlink') return {rel, src, type, st, xattrs: [], opaque: false}
  if (type === 'whiteout') return {rel, src, type, st: null, xattrs: [], opaque: false}
  const x = type === 'socket' || type === 'device' ? {own: [], opaque: false, whiteout: false} : overlayXattrsOf(e[10] ?? [], form)
  if (type === 'file' && x.whiteout && st.size === 0n) return {rel, src, type: 'whiteout', st: null, xattrs: [], opaque: false}
  let opaque = type === 'dir' && x.opaque
  if (type === 'dir' && !opaque) opaque = exists(Buffer.concat([src, Buffer.from('/'), OPQ]))
  return {rel, src, type, st, xattrs: x.own, opaque}
}

function exists(p: Buffer) {
  try {
    lstatSync(p)
    return true
  } catch {
    return false
  }
}

// the entries made for `.wh.NAME` files: whiteouts of NAME
const whiteoutNamed = new WeakSet<ScannedEntry>()

/**
 * A directory of the upper as the walk sees it: `.wh.NAME` files become
 * whiteouts named NAME (unless NAME itself is there: the entry made since
 * wins), the opaque marker file is read with its directory. The upper of a
 * mounted stack may change while it is read: a directory gone meanwhile is
 * empty, and one whose entries changed under the read is read again.
 */
function upperChildren(dir: Buffer): ScannedEntry[] {
  let entries: ScannedEntry[] | undefined
  for (let tries = 0; !entries; tries++) {
    try {
      entries = sys.scanDir(dir)
    } catch (e) {
      if (!isGone(e)) throw e
      if (!exists(dir)) return []
      if (tries === 10) throw e
    }
  }
  const real = new Set(entries.filter((e) => !isWhName(e[0])).map((e) => e[0].toString('hex')))
  const out: ScannedEntry[] = []
  for (const e of entries) {
    const n = e[0]
    if (n.equals(OPQ)) continue // read with its directory
    if (!isWhName(n)) {
      out.push(e)
      continue
    }
    const target = n.subarray(WH.length)
    if (real.has(target.toString('hex'))) continue // the entry made since wins
    if (target.includes(0x2f) || target.length === 0 || target.equals(Buffer.from('.')) || target.equals(Buffer.from('..'))) continue
    if ((e[1] & C.S_IFMT) === C.S_IFDIR) continue
    const w: ScannedEntry = [target, e[1], e[2], e[3], e[4], e[5], e[6], e[7], e[8], e[9], null, null]
    whiteoutNamed.add(w)
    out.push(w)
  }
  return out
}

const isWhName = (n: Buffer) => n.length > WH.length && n.subarray(0, WH.length).equals(WH) && !n.equals(OPQ)

/** What the layers show at a path of the composed tree: its type and, lazily, the rest. */
interface Lower {p: Buffer; st: BigIntStats; type: NodeType | 'whiteout'}

function lowerAt(composed: string, rel: Buffer): Lower | null {
  const p = abs(composed, rel)
  try {
    const st = lstatSync(p, {bigint: true})
    return {p, st, type: typeOf(st)}
  } catch (e) {
    if (isGone(e)) return null
    throw e
  }
}

/**
 * Classifies each node of the upper against the composed tree of the
 * stack's layers: added (nothing there below), changed (content, type or
 * metadata differ), deleted (a whiteout over something), opaque (a directory
 * that hides the one below). A copy-up that changed nothing but atime is no change.
 */
export function readChanges(upper: string, form: UpperForm, composed: string): Changes {
  const nodes = readUpper(upper, form)
  const merged = new Map<string, boolean>() // dir (hex) → the layers' directory shows through it
  for (const n of nodes) {
    const key = n.rel.toString('hex')
    const parentMerged = n.rel.length === 0 ? true : merged.get(parentKey(n.rel)) ?? false
    const lower = parentMerged ? lowerAt(composed, n.rel) : null
    const lowerType = lower && lower.type !== 'whiteout' ? lower.type : undefined
    n.lowerType = lowerType
    if (n.type === 'whiteout') {
      if (lowerType) n.change = 'deleted'
      continue
    }
    if (n.type === 'dir') {
      merged.set(key, lowerType === 'dir' && !n.opaque)
      if (!lowerType) n.change = 'added'
      else if (lowerType !== 'dir') n.change = 'changed'
      else if (n.opaque) n.change = 'opaque'
      else if (!sameEntry(n, lower!)) n.change = 'changed'
      continue
    }
    if (!lowerType) n.change = 'added'
    else if (lowerType !== n.type || !sameEntry(n, lower!)) n.change = 'changed'
  }
  linkGroups(nodes)
  return {nodes, changes: nodes.filter((n) => n.change)}
}

const parentKey = (rel: Buffer) => {
  const i = rel.lastIndexOf(0x2f)
  return i < 0 ? '' : rel.subarray(0, i).toString('hex')
}

/** Hardlinked names in the upper travel together: when one is a change, all are (their link count changed). */
function linkGroups(nodes: UpperNode[]) {
  const groups = new Map<bigint, UpperNode[]>()
  for (const n of nodes) if (n.type === 'file' && n.st!.nlink > 1n) groups.set(n.st!.ino, [...(groups.get(n.st!.ino) ?? []), n])
  for (const g of groups.values()) if (g.length > 1 && g.some((n) => n.change)) for (const n of g) n.change ??= 'changed'
}

function sameEntry(n: UpperNode, lower: Lower): boolean {
  const a = n.st!
  const b = lower.st
  if (n.type !== 'symlink' && (Number(a.mode) & 0o7777) !== (Number(b.mode) & 0o7777)) return false
  if (a.uid !== b.uid || a.gid !== b.gid || a.mtimeNs !== b.mtimeNs) return false
  if (n.type === 'symlink') return readlinkSync(n.src, {encoding: 'buffer'}).equals(readlinkSync(lower.p, {encoding: 'buffer'}))
  const lx = overlayXattrs(lower.p)
  if (!sameXattrs(n.xattrs, lx.own)) return false
  if (n.type !== 'file') return true
  if (a.size !== b.size) return false
  // metadata alike: only now read the content (a copy-up, or a write that restored mtime)
  return lx.digest ? verityOf(n.src) === lx.digest : sameBytes(n.src, lower.p)
}

function sameXattrs(a: [string, Buffer][], b: [string, Buffer][]) {
  return a.length === b.length && a.every(([k, v], i) => k === b[i][0] && v.equals(b[i][1]))
}

function verityOf(p: Buffer): string {
  const h = new VerityHasher()
  readChunks(p, (c) => h.update(c))
  return h.digest().toString('hex')
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  const fa = openSync(a, 'r')
  const fb = openSync(b, 'r')
  const x = Buffer.allocUnsafe(1 << 16)
  const y = Buffer.allocUnsafe(1 << 16)
  try {
    for (;;) {
      const n = readFull(fa, x)
      const m = readFull(fb, y)
      if (n !== m || !x.subarray(0, n).equals(y.subarray(0, m))) return false
      if (n === 0) return true
    }
  } finally {
    closeSync(fa)
    closeSync(fb)
  }
}

function readFull(fd: number, buf: Buffer): number {
  let off = 0
  for (let n; off < buf.length && (n = readSync(fd, buf, off, buf.length - off, null)) > 0; ) off += n
  return off
}

function readChunks(p: Buffer, f: (c: Buffer) => void) {
  const fd = openSync(p, 'r')
  const buf = Buffer.allocUnsafe(1 << 20)
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) f(buf.subarray(0, n))
  } finally {
    closeSync(fd)
  }
}

/**
 * A change as JSON. Paths are absolute in the stack ('/' is its root). A path
 * that isn't valid UTF-8 comes as UTF-8 with U+FFFD for the bad bytes, plus
 * "pathHex": the exact bytes of the path (leading '/' included), in hex.
 */
export interface ChangeJSON {path: string; pathHex?: string; kind: ChangeKind; type: NodeType}

export function changeJSON(n: UpperNode): ChangeJSON {
  const bytes = Buffer.concat([Buffer.from('/'), n.rel])
  const c: ChangeJSON = {path: bytes.toString('utf8'), kind: n.change!, type: (n.change === 'deleted' ? n.lowerType : n.type) as NodeType}
  if (!isUtf8(bytes)) return {path: c.path, pathHex: bytes.toString('hex'), kind: c.kind, type: c.type}
  return c
}
