// Imports a directory tree as a layer: data into the object store (on worker
// threads), metadata into a staged tree, published by rename once synced.
import {constants as C, lstatSync, readdirSync, readFileSync, readlinkSync, accessSync, statSync, type BigIntStats} from 'node:fs'
import type {Home} from '../store/home.js'
import {IngestPool} from '../store/ingest.js'
import {DigestCache, TreeFingerprint} from '../store/digest-cache.js'
import {ObjectStore} from '../store/objects.js'
import {METACOPY, decodeMetacopy, isStructural} from '../overlay/xattrs.js'
import {sys} from '../sys/index.js'
import {notFound, usage} from '../cli/errors.js'
import {removeTree} from '../store/fsutil.js'
import {joinPath, displayPath} from './entry.js'
import {type Meta, TreeWriter} from './writer.js'
import {publishStaged, unchangedSince, type ImportResult, type Tally, newTally} from './publish.js'
import {stagingDir} from '../store/fsutil.js'
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
  const inlineLimit = opts.inlineLimit ?? DEFAULT_INLINE_LIMIT
  const cache = new DigestCache(home.digests, source)
  const objects = new ObjectStore(home.objects, home.tmp)
  // a tree unchanged since its last import (by lstat, as git's index tells) is that
  // layer again; the digest cache names its objects (a stat each, not a read of its stubs)
  const settings = `v1 inline-limit=${inlineLimit}`
  const whole = () => cache.lastDigests().every((d) => objects.has(d))
  const again = opts.acceptStubs ? null : unchangedSince(home, cache.lastTree, settings, () => fingerprintOf(source), opts.name, whole)
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
  const absSrc = (rel: Buffer) => (rel.length ? Buffer.concat([src, Buffer.from('/'), rel]) : src)
  let failure: unknown

  let sinceYield = 0
  const visit = async (rel: Buffer): Promise<void> => {
    // let workers' results in now and then: stubs get written as we go, and progress moves
    if (++sinceYield >= 256) {
      sinceYield = 0
      await new Promise((r) => setImmediate(r))
    }
    const p = absSrc(rel)
    const st = lstatSync(p, {bigint: true})
    if (!opts.acceptStubs) fingerprint.add(rel, st)
    const fmt = Number(st.mode) & C.S_IFMT
    if (fmt === C.S_IFDIR) {
      writer.dir(rel, metaOf(p, st, true))
      for (const n of readdirSync(p, {encoding: 'buffer'})) await visit(joinPath(rel, n))
      return
    }
    if (fmt === C.S_IFSOCK || fmt === C.S_IFBLK || (fmt === C.S_IFCHR && st.rdev !== 0n)) {
      if (fmt === C.S_IFSOCK) tally.sockets++
      else tally.devices++
      if (tally.skippedPaths.length < 100) tally.skippedPaths.push(displayPath(rel))
      return
    }
    if (st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`
      const first = seen.get(key)
      if (first) {
        links.push([rel, first])
        return
      }
      seen.set(key, rel)
    }
    tally.entries++
    if (fmt === C.S_IFREG) {
      tally.contentBytes += Number(st.size)
      if (st.size <= BigInt(inlineLimit)) {
        writer.file(rel, metaOf(p, st, true), readFileSync(p))
        opts.onProgress?.(tally)
        return
      }
      const meta = metaOf(p, st, true)
      // `import --move`: a tree stamped into the store already names its objects
      const stubbed = opts.acceptStubs ? sys.getxattr(p, METACOPY) : null
      const known = stubbed ? decodeMetacopy(stubbed) : cache.get(st)
      if (known && objects.has(known)) {
        if (stubbed) meta.xattrs = meta.xattrs!.filter(([n]) => !isStructural(n)).map(([n, v]) => [n.replace(/^user\.overlay\.overlay\./, 'user.overlay.'), v])
        else cache.set(st, known)
        writer.stub(rel, meta, known, Number(st.size))
        tally.bytesDone += Number(st.size)
        opts.onProgress?.(tally)
        return
      }
      pending.push(
        pool.put(p, {path: writer.path(rel), meta}).then(
          (r) => {
            writer.stubWritten(rel, meta, r.digest, r.size, r.stub!)
            cache.set(st, r.digest)
            if (r.stored) {
              tally.objectsAdded++
              tally.objectBytesAdded += r.size
            }
            tally.bytesDone += r.size
            opts.onProgress?.(tally)
          },
          (e) => {
            failure ??= e
          },
        ),
      )
    } else if (fmt === C.S_IFLNK) writer.symlink(rel, metaOf(p, st, false), readlinkSync(p, {encoding: 'buffer'}))
    else if (fmt === C.S_IFIFO) writer.fifo(rel, metaOf(p, st, false))
    else writer.whiteout(rel, metaOf(p, st, false)) // a 0/0 char device: an overlay upper's whiteout
  }

  try {
    await visit(Buffer.alloc(0))
    await Promise.all(pending)
    if (failure) throw failure
    for (const [rel, first] of links) writer.hardlink(rel, first)
    writer.finish()
    const result = publishStaged(home, staging, writer, tally, {kind: 'dir', path: source}, inlineLimit, opts.name)
    if (!opts.acceptStubs) cache.setTree({layer: result.layer.id, fingerprint: fingerprint.digest(), settings})
    cache.save()
    return result
  } catch (e) {
    removeTree(staging)
    throw e
  } finally {
    await pool.close()
  }
}

/** The fingerprint of the tree at source, walked as importDir walks it; null when it can't be walked. */
function fingerprintOf(source: string): string | null {
  const f = new TreeFingerprint()
  const src = Buffer.from(source)
  const visit = (rel: Buffer) => {
    const p = rel.length ? Buffer.concat([src, Buffer.from('/'), rel]) : src
    const st = lstatSync(p, {bigint: true})
    f.add(rel, st)
    if (st.isDirectory()) for (const n of readdirSync(p, {encoding: 'buffer'})) visit(joinPath(rel, n))
  }
  try {
    visit(Buffer.alloc(0))
  } catch {
    return null // the import proper will say what is wrong
  }
  return f.digest()
}

function metaOf(p: Buffer, st: BigIntStats, xattrs: boolean): Meta {
  const meta: Meta = {mode: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid), mtimeNs: st.mtimeNs, atimeNs: st.atimeNs}
  if (xattrs) {
    const list: [string, Buffer][] = []
    for (const name of sys.listxattr(p).sort()) {
      if (!name.startsWith('user.')) continue
      const v = sys.getxattr(p, name)
      if (v !== null) list.push([name, v])
    }
    meta.xattrs = list
  }
  return meta
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
