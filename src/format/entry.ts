// One entry of a layer tree, as strata reads it back from disk (stub form).
// The canonical listing of a tree's entries is what a layer id hashes.
import {createHash} from 'node:crypto'

export type EntryType = 'dir' | 'file' | 'stub' | 'symlink' | 'fifo' | 'whiteout'

export interface Entry {
  path: Buffer // relative to the tree's root; empty for the root itself
  type: EntryType
  mode: number // permission bits, setuid/setgid/sticky included
  uid: number
  gid: number
  mtimeNs: bigint
  size: number
  digest?: string // stub: the object's fs-verity digest (format 2: from the layer's digest index; absent when nothing said it)
  object?: string // stub: the object its redirect names, as "ab" + the rest (a full digest or an alias): read objects/ab/rest for its content
  inline?: string // file stored inline: sha256 of its content
  target?: Buffer // symlink
  opaque?: boolean // dir: hides what the layers below have there
  implicit?: boolean // dir: only implied by an archive's entries; metadata comes from below when there is any
  xattrs: [string, Buffer][] // the entry's own user.* xattrs, sorted by name
  linkTo?: Buffer // hardlink: the first path (in byte order) of its group
}

export const comparePaths = (a: Buffer, b: Buffer) => Buffer.compare(a, b)

/** SHA-256 over a canonical, order-independent listing of entries. */
export function treeId(entries: Entry[]): string {
  const h = createHash('sha256')
  h.update('strata-layer-v1\n')
  for (const e of [...entries].sort((a, b) => comparePaths(a.path, b.path))) {
    if (e.type === 'stub' && !e.linkTo && !e.digest) throw new Error(`${displayPath(e.path)} is a stub whose object's digest its layer's index doesn't give (it redirects to ${e.object ?? 'nothing'})`)
    const payload = e.linkTo
      ? `link:${e.linkTo.toString('hex')}`
      : e.digest ?? e.inline ?? (e.target ? `target:${e.target.toString('hex')}` : '-')
    const xattrs = e.xattrs.map(([k, v]) => `${k}=${v.toString('hex')}`).join(';')
    h.update(
      [e.path.toString('hex'), e.type, e.mode.toString(8), e.uid, e.gid, e.mtimeNs, e.size, payload, (e.opaque ? 'opaque' : '') + (e.implicit ? 'implicit' : ''), xattrs].join(' ') + '\n',
    )
  }
  return h.digest('hex')
}

export const joinPath = (dir: Buffer, name: Buffer) =>
  dir.length === 0 ? name : Buffer.concat([dir, Buffer.from('/'), name])

export const displayPath = (p: Buffer) => (p.length === 0 ? '/' : '/' + p.toString('utf8'))

/** The metadata an importer gives an entry it writes. */
export interface Meta {
  mode: number
  uid: number
  gid: number
  mtimeNs: bigint
  atimeNs?: bigint
  xattrs?: [string, Buffer][] // the entry's own user.* xattrs
  /** the owner was read as the kernel's overflow id (65534): the real one is outside the namespace's mapping, and can't be kept */
  foreignOwner?: boolean
}

/** What an entry got of meta's owner: an owner outside the mapping is squashed to 0:0. */
export interface Applied {ids: [uid: number, gid: number]; squashed: boolean}
