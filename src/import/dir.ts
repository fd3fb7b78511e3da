// Imports a directory tree as a layer: data into the object store (on worker
// threads), metadata into a staged tree, published by rename once synced.
import {constants as C, accessSync, statSync} from 'node:fs'
import type {Home} from '../store/home.js'
import {DigestCache, TreeFingerprint, inodeOf} from '../store/digest-cache.js'
import {ObjectStore} from '../store/objects.js'
import {METACOPY, decodeMetacopy, isStructural, unescapeName} from '../format/xattrs.js'
import {type ScannedEntry, sys} from '../sys.js'
import {conflict, notFound, usage} from '../errors.js'
import {isDir, walkTree} from '../walk.js'
import {DEFAULT_INLINE_LIMIT, buildLayer} from '../layer/builder.js'
import type {Meta} from '../format/entry.js'
import {unchangedSince, type ImportResult, type Tally} from '../layer/publish.js'
import {resolve} from 'node:path'

export interface ImportOptions {
  name?: string
  inlineLimit?: number
  onProgress?: (t: Tally) => void
  /** Files already in stub form whose objects the store has are taken as stubs (import --move) */
  acceptStubs?: boolean
}

export {DEFAULT_INLINE_LIMIT}

export async function importDir(home: Home, sourcePath: string, opts: ImportOptions = {}): Promise<ImportResult> {
  const source = resolve(sourcePath)
  checkSource(source)
  home.ensure()
  checkStoreApart(home, source, !!opts.acceptStubs)
  // a store inside the tree is left out, as tar leaves out its own archive: its
  // tmp/ grows while the walk reads it
  const store = inodeOf(sys.scanEntry(home.root)[9])
  const inlineLimit = opts.inlineLimit ?? DEFAULT_INLINE_LIMIT
  const cache = new DigestCache(home.digests, source)
  const objects = new ObjectStore(home.objects, home.tmp)
  // a tree unchanged since its last import (by lstat, as git's index tells) is that
  // layer again; the digest cache names its objects (a stat each, not a read of its stubs)
  const settings = `v1 inline-limit=${inlineLimit}`
  const whole = () => cache.lastDigests().every((d) => objects.has(d))
  const again = opts.acceptStubs ? null : unchangedSince(home, cache.lastTree, settings, () => fingerprintOf(source, store), opts.name, whole)
  if (again) return again
  const fingerprint = new TreeFingerprint()
  const src = Buffer.from(source)
  const absSrc = (rel: Buffer) => (rel.length ? Buffer.concat([src, SLASH, rel]) : src)
  const isStore = (_: Buffer, e: ScannedEntry) => isDir(e) && inodeOf(e[9]) === store

  const result = await buildLayer(
    home,
    {kind: 'import', inlineLimit, onProgress: opts.onProgress, explain: sourceError, source: {kind: 'dir', path: source}, name: opts.name},
    async (b) => {
      for (const [rel, e] of walkTree(source, {prune: isStore, read: scan})) {
        await b.breathe()
        const [, mode, uid, gid, size, nlink, rdev, atimeNs, mtimeNs, ident, xattrs, target] = e
        const fmt = mode & C.S_IFMT
        if (!opts.acceptStubs) fingerprint.add(rel, ident)
        const meta: Meta = {mode: mode & 0o7777, uid, gid, mtimeNs, atimeNs, xattrs: xattrs ? xattrs.sort(byName) : []}
        if (fmt === C.S_IFDIR) b.writer.dir(rel, meta)
        else if (fmt === C.S_IFSOCK) b.skip(rel, 'socket')
        else if (fmt === C.S_IFBLK || (fmt === C.S_IFCHR && rdev !== 0)) b.skip(rel, 'device')
        else if (b.sameInode(rel, inodeOf(ident), nlink)) continue
        else if (fmt === C.S_IFREG) {
          let known: string | null | undefined
          if (size > b.inlineLimit) {
            // `import --move`: a tree stamped into the store already names its objects
            const stubbed = opts.acceptStubs ? xattrs?.find(([n]) => n === METACOPY)?.[1] : undefined
            known = stubbed ? decodeMetacopy(stubbed) : cache.get(ident)
            if (!known || !objects.has(known)) known = undefined
            else if (stubbed) meta.xattrs = meta.xattrs!.filter(([n]) => !isStructural(n)).map(([n, v]) => [unescapeName(n), v])
            else cache.set(ident, known)
          }
          b.file(rel, absSrc(rel), meta, size, {known, stored: (digest) => cache.set(ident, digest)})
        } else if (fmt === C.S_IFLNK) b.writer.symlink(rel, meta, target!)
        else if (fmt === C.S_IFIFO) b.writer.fifo(rel, meta)
        else b.writer.whiteout(rel, meta) // a 0/0 char device: an overlay upper's whiteout
      }
    },
  )
  if (!opts.acceptStubs) cache.setTree({layer: result.layer.id, fingerprint: fingerprint.digest(), settings})
  cache.save()
  return result
}

/** The fingerprint of the tree at source, walked as importDir walks it (leaving out the store, by its inode); null when it can't be walked. */
function fingerprintOf(source: string, store: string): string | null {
  const f = new TreeFingerprint()
  try {
    for (const [rel, e] of walkTree(source, {prune: (_, e) => isDir(e) && inodeOf(e[9]) === store})) f.add(rel, e[9])
  } catch {
    return null // the import proper will say what is wrong
  }
  return f.digest()
}

const SLASH = Buffer.from('/')
const byName = (a: [string, Buffer], b: [string, Buffer]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)

// What the source holds that this user can't read (another user's, not open
// to others: even root in the namespace has no rights over it), and what
// vanished while the import read the tree, is named with the fix rather than
// reported as a bug in strata. p: the path being read; a native error may name
// the very entry in its own path.
function sourceError(e: unknown, p: Buffer): unknown {
  const {code, path} = e as NodeJS.ErrnoException & {path?: unknown}
  const at = Buffer.isBuffer(path) ? path.toString() : p.toString()
  if (code === 'EACCES') return usage(`cannot read ${at}: permission denied`, 'it belongs to another user: make it readable to you, or leave it out of the tree')
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR')
    return conflict(`${at} changed during the import: ${code === 'ENOENT' ? 'it is gone' : 'it is no longer what it was'}`, 'import a tree nothing is changing, or import it again')
  return e
}

function scan(dir: Buffer): ScannedEntry[] {
  try {
    return sys.scanDir(dir)
  } catch (e) {
    throw sourceError(e, dir)
  }
}

/** A tree inside the store would import the store's own files; `--move` of a tree holding the store would consume it. */
export function checkStoreApart(home: Home, source: string, moving: boolean) {
  const relation = home.relationTo(source)
  if (relation === 'inside') throw usage(`${source} is inside the store (${home.root})`, 'import a directory outside STRATA_HOME')
  if (relation === 'holds' && moving) throw usage(`the store (${home.root}) is inside ${source}: --move would consume it`, 'import without --move (the store is left out), or move the store elsewhere with STRATA_HOME')
}

function checkSource(source: string) {
  let st
  try {
    st = statSync(source)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw notFound(`no such directory: ${source}`, 'give the path of a directory, tar or OCI layout to import')
    if (code === 'EACCES') throw usage(`cannot read ${source}: permission denied`, 'check the permissions of the path and its parents')
    throw e
  }
  if (!st.isDirectory()) throw usage(`${source} is not a directory`, 'give the path of a directory to import')
  try {
    accessSync(source, C.R_OK | C.X_OK)
  } catch {
    throw usage(`cannot read ${source}: permission denied`, 'check the permissions of the directory')
  }
}
