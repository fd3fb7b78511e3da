// Writes a layer tree in stub form into a staging directory. Importers (a
// directory, a tar stream) describe entries; this turns them into dirs,
// inline files, sparse stubs, symlinks, fifos and whiteouts with their metadata.
import {constants as C, linkSync, lchownSync, chmodSync, mkdirSync, symlinkSync, unlinkSync} from 'node:fs'
import {removeTree, writeFileAt} from '../store/fsutil.js'
import {sys} from '../sys.js'
import {IMPLICIT, OPAQUE, escapeName} from '../format/xattrs.js'
import {writeStub} from '../format/stub.js'
import {abs} from './scan.js'
import {createHash} from 'node:crypto'
import type {Applied, Entry, Meta} from '../format/entry.js'

export interface WriterCounts {
  dirs: number
  files: number
  stubs: number
  symlinks: number
  fifos: number
  whiteouts: number
  hardlinks: number
  squashedOwners: number
}

export class TreeWriter {
  readonly counts: WriterCounts = {dirs: 0, files: 0, stubs: 0, symlinks: 0, fifos: 0, whiteouts: 0, hardlinks: 0, squashedOwners: 0}
  // insertion order is parents before children; keyed by the path's hex
  private dirs = new Map<string, {rel: Buffer; meta: Meta; opaque: boolean; implicit: boolean}>()

  // what was written, as scanTree would read it back: kept when asked for, by
  // importers that never remove what they wrote, so they needn't read the tree again
  private entries?: Map<string, Entry>
  private groupOf = new Map<string, number>() // path (hex) → its hardlink group
  private groups = new Map<number, Set<string>>() // hardlink group → its names (hex)
  private nextGroup = 0

  constructor(readonly root: string, opts: {record?: boolean} = {}) {
    if (opts.record) this.entries = new Map()
  }

  private record(rel: Buffer, e: Omit<Entry, 'path' | 'xattrs' | 'uid' | 'gid'>, meta: Meta | undefined, ids: [number, number]) {
    if (!this.entries) return
    const xattrs = (meta?.xattrs ?? [])
      .filter(([n]) => n.startsWith('user.'))
      .map(([n, v]): [string, string, Buffer] => [escapeName(n), n, v])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([, n, v]): [string, Buffer] => [n, v])
    this.entries.set(rel.toString('hex'), {path: rel, ...e, uid: ids[0], gid: ids[1], xattrs})
  }

  /**
   * The entries written, hardlink groups resolved as scanTree resolves them
   * (the first name in its walk order leads); undefined unless recording.
   */
  recorded(): Entry[] | undefined {
    if (!this.entries) return undefined
    for (const members of this.groups.values()) {
      const names = [...members].map((k) => this.entries!.get(k)!.path).sort(walkOrder)
      for (const [i, n] of names.entries()) {
        const e = this.entries.get(n.toString('hex'))!
        if (i === 0) delete e.linkTo
        else e.linkTo = names[0]
      }
    }
    return [...this.entries.values()]
  }

  /** Removes what was written at rel: a file, or a directory and all below it (a later tar entry replaces it). */
  remove(rel: Buffer) {
    const key = rel.toString('hex')
    if (this.isDir(rel)) {
      removeTree(this.path(rel))
      this.forgetDir(rel)
      for (const k of [...(this.entries?.keys() ?? [])]) if (k === key || k.startsWith(key + '2f')) this.forget(k)
    } else {
      unlinkSync(this.path(rel))
      this.forget(key)
    }
  }

  private forget(key: string) {
    this.entries?.delete(key)
    const g = this.groupOf.get(key)
    if (g === undefined) return
    this.groupOf.delete(key)
    const members = this.groups.get(g)!
    members.delete(key)
    if (members.size < 2) this.groups.delete(g)
  }

  path(rel: Buffer) { return abs(this.root, rel) }

  /**
   * Creates a directory now; its metadata is applied by finish(), after its
   * children. A directory written again keeps its children and takes the new
   * metadata (as tar does with a repeated entry); opaque, once set, stays.
   */
  dir(rel: Buffer, meta: Meta, opaque = false, implicit = false) {
    const known = this.dirs.get(rel.toString('hex'))
    if (known) {
      if (implicit) return
      known.meta = meta
      known.opaque ||= opaque
      known.implicit = false
      return
    }
    mkdirSync(this.path(rel), {mode: 0o700})
    this.dirs.set(rel.toString('hex'), {rel, meta, opaque, implicit})
    this.counts.dirs++
  }

  /** A directory this writer made (and so a real directory, never a symlink). */
  isDir(rel: Buffer) { return this.dirs.has(rel.toString('hex')) }

  /** Marks a directory written earlier opaque. */
  opaque(rel: Buffer) { this.dirs.get(rel.toString('hex'))!.opaque = true }

  /** Forgets a directory and everything below it (the caller removes them). */
  forgetDir(rel: Buffer) {
    const key = rel.toString('hex')
    for (const k of [...this.dirs.keys()]) if (k === key || k.startsWith(key + '2f')) this.dirs.delete(k)
    this.counts.dirs--
  }

  /** A small file, stored inline. */
  file(rel: Buffer, meta: Meta, content: Buffer) {
    const p = this.path(rel)
    writeFileAt(p, content, {flag: 'wx', mode: 0o600})
    const ids = this.apply(p, meta, true)
    this.record(rel, {type: 'file', mode: meta.mode & 0o7777, mtimeNs: meta.mtimeNs, size: content.length, inline: this.entries && createHash('sha256').update(content).digest('hex')}, meta, ids)
    this.counts.files++
  }

  /** A sparse stub of the content's exact size that redirects to its object. */
  stub(rel: Buffer, meta: Meta, digest: string, size: number) {
    const r = writeStub(this.path(rel), meta, digest, size)
    this.stubWritten(rel, meta, digest, size, r)
  }

  /** A stub written elsewhere (by an ingest worker, with writeStub), accounted for here. */
  stubWritten(rel: Buffer, meta: Meta, digest: string, size: number, r: Applied) {
    if (r.squashed) this.counts.squashedOwners++
    this.record(rel, {type: 'stub', mode: meta.mode & 0o7777, mtimeNs: meta.mtimeNs, size, digest}, meta, r.ids)
    this.counts.stubs++
  }

  symlink(rel: Buffer, meta: Meta, target: Buffer) {
    const p = this.path(rel)
    symlinkSync(target, p)
    const ids = this.apply(p, meta, false)
    this.record(rel, {type: 'symlink', mode: 0o777, mtimeNs: meta.mtimeNs, size: target.length, target}, undefined, ids)
    this.counts.symlinks++
  }

  fifo(rel: Buffer, meta: Meta) {
    const p = this.path(rel)
    sys.mknod(p, C.S_IFIFO | 0o600, 0, 0)
    const ids = this.apply(p, meta, true)
    this.record(rel, {type: 'fifo', mode: meta.mode & 0o7777, mtimeNs: meta.mtimeNs, size: 0}, undefined, ids)
    this.counts.fifos++
  }

  /** An overlay whiteout: a 0/0 character device hiding the path below. */
  whiteout(rel: Buffer, meta?: Meta) {
    const p = this.path(rel)
    sys.mknod(p, C.S_IFCHR | 0o000, 0, 0)
    const m = meta ?? {mode: 0, uid: 0, gid: 0, mtimeNs: 0n}
    const ids = this.apply(p, m, true)
    this.record(rel, {type: 'whiteout', mode: m.mode & 0o7777, mtimeNs: m.mtimeNs, size: 0}, undefined, ids)
    this.counts.whiteouts++
  }

  /** Another name for an entry already written. */
  hardlink(rel: Buffer, targetRel: Buffer) {
    linkSync(this.path(targetRel), this.path(rel))
    if (this.entries) {
      const key = targetRel.toString('hex')
      const g = this.groupOf.get(key) ?? this.nextGroup++
      const members = this.groups.get(g) ?? new Set([key])
      members.add(rel.toString('hex'))
      for (const k of members) this.groupOf.set(k, g)
      this.groups.set(g, members)
      this.entries.set(rel.toString('hex'), {...this.entries.get(key)!, path: rel})
    }
    this.counts.hardlinks++
  }

  /** Applies directories' metadata, deepest first, so adding children can't touch their mtimes. */
  finish() {
    for (const d of [...this.dirs.values()].reverse()) {
      const p = this.path(d.rel)
      if (d.opaque) sys.setxattr(p, OPAQUE, Buffer.from('y'))
      if (d.implicit) sys.setxattr(p, IMPLICIT, Buffer.alloc(0))
      const ids = this.apply(p, d.meta, true)
      this.record(d.rel, {type: 'dir', mode: d.meta.mode & 0o7777, mtimeNs: d.meta.mtimeNs, size: 0, opaque: d.opaque, ...(d.implicit ? {implicit: true} : {})}, d.meta, ids)
    }
    this.dirs.clear()
  }

  /** Owner, mode, own xattrs and times (see applyMeta), counting squashed owners. */
  apply(p: Buffer, meta: Meta, chmod: boolean): [uid: number, gid: number] {
    const r = applyMeta(p, meta, chmod)
    if (r.squashed) this.counts.squashedOwners++
    return r.ids
  }
}

/** Owner, mode, own xattrs and times, in the order that keeps setuid bits and mtimes. */
export function applyMeta(p: Buffer, meta: Meta, chmod: boolean): Applied {
  let r: Applied = {ids: [meta.uid, meta.gid], squashed: false}
  try {
    lchownSync(p, meta.uid, meta.gid)
  } catch (e) {
    // an id outside the namespace's mapping: squash it to the user, and say so
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e
    lchownSync(p, 0, 0)
    r = {ids: [0, 0], squashed: true}
  }
  if (chmod) chmodSync(p, meta.mode & 0o7777)
  for (const [name, value] of meta.xattrs ?? []) sys.setxattr(p, escapeName(name), value)
  sys.utimens(p, meta.atimeNs ?? meta.mtimeNs, meta.mtimeNs)
  return r
}

/** The order scanTree walks a tree in: depth first, each directory's names in byte order. */
export function walkOrder(a: Buffer, b: Buffer): number {
  const x = a.toString('latin1').split('/')
  const y = b.toString('latin1').split('/')
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c = Buffer.compare(Buffer.from(x[i], 'latin1'), Buffer.from(y[i], 'latin1'))
    if (c) return c
  }
  return x.length - y.length
}
