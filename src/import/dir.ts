// Imports a directory tree as a layer: data into the object store (on worker
// threads), metadata into a staged tree, published by rename once synced.
import {constants as C, readFileSync, accessSync, statSync} from 'node:fs'
import type {Home} from '../store/home.js'
import {IngestPool} from '../store/ingest.js'
import {DigestCache, TreeFingerprint, inodeOf} from '../store/digest-cache.js'
import {ObjectStore} from '../store/objects.js'
import {METACOPY, decodeMetacopy, isStructural, unescapeName} from '../format/xattrs.js'
import {type ScannedEntry, sys} from '../sys.js'
import {conflict, firstCause, notFound, usage} from '../errors.js'
import {joinPath, displayPath} from '../format/entry.js'
import {TreeWriter} from '../layer/writer.js'
import type {Meta} from '../format/entry.js'
import {publishStaged, unchangedSince, type ImportResult, type Tally, newTally} from '../layer/publish.js'
import {discard, stagingDir} from '../store/fsutil.js'
import {join, resolve} from 'node:path'

export interface ImportOptions {
  name?: string
  inlineLimit?: number
  onProgress?: (t: Tally) => void
  /** Files already in stub form whose objects the store has are taken as stubs (import --move) */
  acceptStubs?: boolean
}

export const DEFAULT_INLINE_LIMIT = 64

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
  const staging = stagingDir(home.tmp, 'import')
  const writer = new TreeWriter(join(staging, 'tree'), {record: true})
  const tally = newTally()
  const pool = new IngestPool(home.objects, home.tmp)
  const fingerprint = new TreeFingerprint()
  const pending: Promise<void>[] = []
  const links: [Buffer, Buffer][] = []
  const seen = new Map<string, Buffer>() // dev:ino → first path, for hardlink groups
  const src = Buffer.from(source)
  const absSrc = (rel: Buffer) => (rel.length ? Buffer.concat([src, SLASH, rel]) : src)
  let failure: unknown

  let sinceYield = 0
  const visit = async (rel: Buffer, e: ScannedEntry): Promise<void> => {
    // let workers' results in now and then: stubs get written as we go, and progress moves
    if (++sinceYield >= 256) {
      sinceYield = 0
      await new Promise((r) => setImmediate(r))
      if (failure) throw failure // a worker failed (a full disk): the walk stops here
    }
    const [, mode, uid, gid, size, nlink, rdev, atimeNs, mtimeNs, ident, xattrs, target] = e
    const fmt = mode & C.S_IFMT
    if (fmt === C.S_IFDIR && inodeOf(ident) === store) return
    if (!opts.acceptStubs) fingerprint.add(rel, ident)
    const meta: Meta = {mode: mode & 0o7777, uid, gid, mtimeNs, atimeNs, xattrs: xattrs ? xattrs.sort(byName) : []}
    if (fmt === C.S_IFDIR) {
      writer.dir(rel, meta)
      for (const child of scan(absSrc(rel))) await visit(joinPath(rel, child[0]), child)
      return
    }
    if (fmt === C.S_IFSOCK || fmt === C.S_IFBLK || (fmt === C.S_IFCHR && rdev !== 0)) {
      if (fmt === C.S_IFSOCK) tally.sockets++
      else tally.devices++
      if (tally.skippedPaths.length < 100) tally.skippedPaths.push(displayPath(rel))
      return
    }
    if (nlink > 1) {
      const key = inodeOf(ident)
      const first = seen.get(key)
      if (first) {
        links.push([rel, first])
        return
      }
      seen.set(key, rel)
    }
    tally.entries++
    if (fmt === C.S_IFREG) {
      tally.contentBytes += size
      if (size <= inlineLimit) {
        writer.file(rel, meta, read(absSrc(rel)))
        opts.onProgress?.(tally)
        return
      }
      // `import --move`: a tree stamped into the store already names its objects
      const stubbed = opts.acceptStubs ? xattrs?.find(([n]) => n === METACOPY)?.[1] : undefined
      const known = stubbed ? decodeMetacopy(stubbed) : cache.get(ident)
      if (known && objects.has(known)) {
        if (stubbed) meta.xattrs = meta.xattrs!.filter(([n]) => !isStructural(n)).map(([n, v]) => [unescapeName(n), v])
        else cache.set(ident, known)
        writer.stub(rel, meta, known, size)
        tally.bytesDone += size
        opts.onProgress?.(tally)
        return
      }
      pending.push(
        pool.put(absSrc(rel), {path: writer.path(rel), meta}).then(
          (r) => {
            writer.stubWritten(rel, meta, r.digest, r.size, r.stub!)
            cache.set(ident, r.digest)
            if (r.stored) {
              tally.objectsAdded++
              tally.objectBytesAdded += r.size
            }
            tally.bytesDone += r.size
            opts.onProgress?.(tally)
          },
          (e) => {
            failure ??= sourceError(e, absSrc(rel))
          },
        ),
      )
    } else if (fmt === C.S_IFLNK) writer.symlink(rel, meta, target!)
    else if (fmt === C.S_IFIFO) writer.fifo(rel, meta)
    else writer.whiteout(rel, meta) // a 0/0 char device: an overlay upper's whiteout
  }

  try {
    await visit(Buffer.alloc(0), sys.scanEntry(source))
    await Promise.all(pending)
    if (failure) throw failure
    const synced = pool.startSync(home.root)
    for (const [rel, first] of links) writer.hardlink(rel, first)
    writer.finish()
    const result = publishStaged(home, staging, writer, tally, {kind: 'dir', path: source}, inlineLimit, opts.name)
    await synced
    if (!opts.acceptStubs) cache.setTree({layer: result.layer.id, fingerprint: fingerprint.digest(), settings})
    cache.save()
    return result
  } catch (e) {
    const cause = firstCause(failure, e)
    await pool.close() // every worker stopped before the tree they write stubs into goes
    discard(staging)
    throw cause
  } finally {
    await pool.close()
  }
}

/** The fingerprint of the tree at source, walked as importDir walks it (leaving out the store, by its inode); null when it can't be walked. */
function fingerprintOf(source: string, store: string): string | null {
  const f = new TreeFingerprint()
  const src = Buffer.from(source)
  const visit = (rel: Buffer, {1: mode, 9: ident}: ScannedEntry) => {
    const dir = (mode & C.S_IFMT) === C.S_IFDIR
    if (dir && inodeOf(ident) === store) return
    f.add(rel, ident)
    if (dir) for (const child of sys.scanDir(rel.length ? Buffer.concat([src, SLASH, rel]) : src)) visit(joinPath(rel, child[0]), child)
  }
  try {
    visit(Buffer.alloc(0), sys.scanEntry(source))
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

function read(file: Buffer): Buffer {
  try {
    return readFileSync(file)
  } catch (e) {
    throw sourceError(e, file)
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
