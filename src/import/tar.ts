// Imports a tar stream as a layer, reading it once: each regular file's data
// streams by to worker threads that hash it and write it into the object store
// (its stub follows when they answer), the rest goes into a staged stub tree
// that is published like a directory import. Hostile
// names ("..", absolute, written through a symlink, links to what isn't
// there) are refused with the entry's name; nothing is published then.
import {lstatSync, realpathSync} from 'node:fs'
import {resolve} from 'node:path'
import type {Home} from '../store/home.js'
import {ObjectStore} from '../store/objects.js'
import {StrataError, firstCause, isEnvironmentErrno, usage} from '../errors.js'
import type {Meta} from '../format/entry.js'
import {unchangedSince, type ImportResult, type Tally} from '../layer/publish.js'
import {DEFAULT_INLINE_LIMIT, LayerBuilder} from '../layer/builder.js'
import {DigestCache, TreeFingerprint} from '../store/digest-cache.js'
import {sys} from '../sys.js'
import {ByteSource, type DataReader, type TarEntry, TarFormatError, readTar} from '../format/tar-reader.js'
import type {LayerInfo} from '../layer/layers.js'
import type {StubForm} from '../format/stub.js'
import {type Compression, openArchive} from './archive.js'

export interface TarImportOptions {
  name?: string
  inlineLimit?: number
  onProgress?: (t: Tally) => void
  source: LayerInfo['source']
  /** Runs after the whole stream was read and before anything is published (digest checks). */
  beforePublish?: () => Promise<void>
  /** The stubs' form (format/stub.ts): short (format 2, the default) or digest */
  stubs?: StubForm
}

/** What a failed import must undo: objects it stored (layers are staged, never published). */
export interface Undo {objects: string[]; layers: string[]}

const SLASH = 0x2f
const PATH_MAX = 4096
const NAME_MAX = 255
const WH = Buffer.from('.wh.')
const OPQ = Buffer.from('.wh..wh..opq')
// parents the archive doesn't list, and a root it doesn't list, get these
const IMPLICIT_DIR: Meta = {mode: 0o755, uid: 0, gid: 0, mtimeNs: 0n}

export const shown = (p: Buffer) => {
  const s = p.toString('utf8').replace(/[\x00-\x1f\x7f]/g, '?')
  return s.length > 80 ? s.slice(0, 60) + `…(${p.length} bytes)` : s
}

/** An archive name as a path relative to the layer's root; refuses what would leave it. */
export function normalizeName(name: Buffer, what = 'entry'): Buffer {
  const plain = plainName(name)
  if (plain) return plain
  if (name[0] === SLASH) throw usage(`refusing ${what} '${shown(name)}': absolute name`, 'a layer archive holds relative names only; recreate it with relative paths')
  const parts: Buffer[] = []
  let start = 0
  for (let i = 0; i <= name.length; i++) {
    if (i < name.length && name[i] !== SLASH) continue
    const part = name.subarray(start, i)
    start = i + 1
    if (part.length === 0 || (part.length === 1 && part[0] === 0x2e)) continue
    if (part.length === 2 && part[0] === 0x2e && part[1] === 0x2e)
      throw usage(`refusing ${what} '${shown(name)}': '..' would leave the archive's root`, 'the archive is unsafe; recreate it without .. in its names')
    if (part.length > NAME_MAX) throw usage(`refusing ${what} '${shown(name)}': a name component of ${part.length} bytes is over NAME_MAX (${NAME_MAX})`, 'shorten the name')
    parts.push(part)
  }
  const rel = Buffer.concat(parts.flatMap((p, i) => (i ? [Buffer.from('/'), p] : [p])))
  if (rel.length >= PATH_MAX) throw usage(`refusing ${what} '${shown(name)}': a name of ${rel.length} bytes is over PATH_MAX (${PATH_MAX})`, 'shorten the path')
  return rel
}

/**
 * The common case at once: a name without empty, '.' or '..' components
 * (after a leading './') and within the limits is itself, less a trailing
 * slash; anything else (null) takes the careful way.
 */
function plainName(name: Buffer): Buffer | null {
  let start = name.length >= 2 && name[0] === 0x2e && name[1] === SLASH ? 2 : 0
  let end = name.length
  if (end > start && name[end - 1] === SLASH) end--
  if (end - start >= PATH_MAX || name[start] === SLASH) return null
  let comp = start
  for (let i = start; i <= end; i++) {
    if (i < end && name[i] !== SLASH) continue
    const len = i - comp
    if (len === 0 || len > NAME_MAX || (name[comp] === 0x2e && (len === 1 || (len === 2 && name[comp + 1] === 0x2e)))) return null
    comp = i + 1
  }
  return name.subarray(start, end)
}

const parentOf = (rel: Buffer) => {
  const i = rel.lastIndexOf(SLASH)
  return i < 0 ? Buffer.alloc(0) : rel.subarray(0, i)
}
const baseOf = (rel: Buffer) => rel.subarray(rel.lastIndexOf(SLASH) + 1)

export async function importTarStream(home: Home, input: AsyncIterable<Buffer>, opts: TarImportOptions, undo: Undo): Promise<ImportResult> {
  const b = new LayerBuilder(home, {kind: 'import', inlineLimit: opts.inlineLimit, stubs: opts.stubs})
  const {writer, tally, inlineLimit} = b
  // non-directories written, by path hex: what exists besides the writer's
  // directories (no lstat per entry), and what hardlinks may name
  const seen = new Set<string>()
  let current: Buffer | undefined
  writer.dir(Buffer.alloc(0), IMPLICIT_DIR, false, true)

  // stubs (and hardlinks to them) still waiting for their object's digest, by path hex
  const sink = b.ingest
  /** Waits for every pending stub: before anything replaces or links what may be one. */
  const settle = async () => {
    sink.flush()
    try {
      await b.settle()
    } catch {} // a failure is reported before the next entry
  }
  const kindOf = (rel: Buffer) => {
    try {
      return lstatSync(writer.path(rel)).isSymbolicLink() ? 'a symlink' : 'not a directory'
    } catch {
      return 'not a directory' // a stub still being written
    }
  }

  /** Every parent of rel is a directory this import made: nothing is ever written through a symlink. */
  const ensureParents = (rel: Buffer) => {
    const parent = parentOf(rel)
    if (parent.length === 0 || writer.isDir(parent)) return
    ensureParents(parent)
    if (seen.has(parent.toString('hex')))
      throw usage(`refusing entry '${shown(current!)}': its parent '${shown(parent)}' is ${kindOf(parent)} in the archive`, 'the archive writes through a link; it is unsafe or damaged')
    writer.dir(parent, IMPLICIT_DIR, false, true)
  }

  /** Makes room for rel: a later entry replaces an earlier one, as tar does (a directory stays for a directory). */
  const prepare = async (rel: Buffer, dir = false) => {
    ensureParents(rel)
    if (writer.isDir(rel)) {
      if (dir) return
      if (b.busy) await settle() // stubs may be due below it
      writer.remove(rel)
      const key = rel.toString('hex') + '2f'
      for (const k of seen) if (k.startsWith(key)) seen.delete(k)
      return
    }
    const key = rel.toString('hex')
    if (seen.has(key)) {
      if (b.dueAt(key)) await settle()
      writer.remove(rel)
      seen.delete(key)
    }
  }

  const metaOf = (e: TarEntry): Meta => ({
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    mtimeNs: e.mtimeNs,
    xattrs: e.xattrs.filter(([k]) => k.startsWith('user.')).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  })

  const onEntry = async (e: TarEntry, data: DataReader) => {
    b.check()
    current = e.name
    if (e.type === 'dir') {
      const rel = normalizeName(e.name)
      if (rel.length) await prepare(rel, true)
      writer.dir(rel, metaOf(e))
      tally.entries++
      return
    }
    if (e.type === 'chardev' || e.type === 'blockdev') {
      const rel = normalizeName(e.name)
      if (e.type === 'chardev' && e.devmajor === 0 && e.devminor === 0) {
        await prepare(rel)
        writer.whiteout(rel, metaOf(e))
        seen.add(rel.toString('hex'))
        tally.entries++
        return
      }
      return b.skip(rel, 'device')
    }
    if (e.type === 'other') {
      if (e.typeflag === 'M') throw usage(`refusing entry '${shown(e.name)}': multi-volume archives are not supported`, 'join the volumes into one archive')
      if (e.typeflag !== 'V') b.skip(normalizeName(e.name), `tar type '${e.typeflag}'`)
      return
    }
    const rel = normalizeName(e.name)
    if (rel.length === 0) throw usage(`refusing entry '${shown(e.name)}': the archive's root can only be a directory`, 'the archive is damaged')
    tally.entries++
    if (e.type === 'file' && baseOf(rel).subarray(0, 4).equals(WH)) {
      // OCI whiteouts: hide a path of the layers below, or everything below a directory
      const parent = parentOf(rel)
      if (baseOf(rel).equals(OPQ)) {
        ensureParents(rel)
        writer.opaque(parent)
      } else {
        if (baseOf(rel).length === WH.length) throw usage(`refusing entry '${shown(e.name)}': a whiteout that names nothing`, 'the archive is damaged')
        const hidden = Buffer.concat([parent, parent.length ? Buffer.from('/') : Buffer.alloc(0), baseOf(rel).subarray(4)])
        normalizeName(hidden)
        await prepare(hidden)
        writer.whiteout(hidden, metaOf(e))
        seen.add(hidden.toString('hex'))
      }
      return
    }
    if (e.type === 'hardlink') {
      const target = normalizeName(e.linkname, 'hardlink target')
      const key = target.toString('hex')
      if (writer.isDir(target)) throw usage(`refusing entry '${shown(e.name)}': hardlink to the directory '${shown(target)}'`, 'the archive is unsafe or damaged')
      if (!seen.has(key) || !writer.isDir(parentOf(target)))
        throw usage(`refusing entry '${shown(e.name)}': hardlink to '${shown(target)}', which is not earlier in the archive`, 'the archive is unsafe or damaged')
      if (target.equals(rel)) return
      await prepare(rel)
      const stub = b.dueAt(key)
      if (stub) b.due(rel.toString('hex'), stub.then(() => writer.hardlink(rel, target)))
      else writer.hardlink(rel, target)
      seen.add(rel.toString('hex'))
      return
    }
    await prepare(rel)
    const meta = metaOf(e)
    if (e.type === 'symlink') writer.symlink(rel, meta, e.linkname)
    else if (e.type === 'fifo') writer.fifo(rel, meta)
    else if (e.size <= inlineLimit) {
      const parts: Buffer[] = []
      for await (const c of data()) parts.push(Buffer.from(c))
      writer.file(rel, meta, Buffer.concat(parts))
      tally.contentBytes += e.size
    } else {
      sink.begin(e.size)
      let size = 0
      for await (const c of data()) {
        await sink.write(c)
        size += c.length
        tally.bytesDone += c.length
        opts.onProgress?.(tally)
      }
      if (size !== e.size) throw new TarFormatError('the archive is truncated')
      const {result} = await sink.end({path: writer.path(rel), meta})
      b.due(
        rel.toString('hex'),
        result.then((r) => {
          if (r.stored) {
            undo.objects.push(r.digest)
            tally.objectsAdded++
            tally.objectBytesAdded += r.size
          }
          writer.stubWritten(rel, meta, r.digest, r.size, r.alias, r.stub!)
        }),
      )
      tally.contentBytes += e.size
    }
    seen.add(rel.toString('hex'))
    opts.onProgress?.(tally)
  }

  try {
    const src = new ByteSource(input)
    await readTar(src, onEntry)
    current = undefined
    sink.flush()
    return await b.publish(opts.source, opts.name, opts.beforePublish)
  } catch (e) {
    const cause = firstCause(b.failure, e)
    // every answer in before undoing: the caller rolls back the objects this stored,
    // and no worker writes a stub into the tree while it goes
    await b.discard()
    throw explain(cause, current, opts.source.path)
  } finally {
    await b.close()
  }
}

function explain(e: unknown, entry: Buffer | undefined, source: string): unknown {
  if (e instanceof StrataError) return e
  const at = entry ? ` (at entry '${shown(entry)}')` : ''
  if (e instanceof TarFormatError) return usage(`${source}: ${e.message}${at}`, 'the archive is damaged or not a tar; check it with `tar -tvf`')
  const err = e as NodeJS.ErrnoException
  if (err.code === 'ENAMETOOLONG' || err.code === 'ELOOP' || err.code === 'ENOTDIR' || err.code === 'EEXIST')
    return usage(`${source}: cannot import entry '${entry ? shown(entry) : '?'}': ${err.code}`, 'the archive is unsafe or damaged')
  if (err.code === 'Z_DATA_ERROR' || err.code === 'Z_BUF_ERROR' || /incorrect header check|invalid|unexpected end of file/i.test(err.message ?? ''))
    return usage(`${source}: corrupt compressed stream (${err.message})${at}`, 'the file is damaged; fetch it again')
  return e
}

/** Imports a tar file (plain, gzip or zstd) as one layer; on failure the store is as it was. */
export async function importTarFile(
  home: Home,
  path: string,
  compression: Compression,
  opts: Omit<TarImportOptions, 'source' | 'beforePublish'> & {kind: string},
): Promise<ImportResult> {
  // an archive unchanged since its last import (by lstat, as for directories) is that layer again, if the store has it whole
  const cache = new DigestCache(home.digests, resolve(path))
  const fp = new TreeFingerprint()
  fp.add(Buffer.alloc(0), sys.scanEntry(realpathSync(path))[9]) // the archive itself, not a symlink to it
  const fingerprint = fp.digest()
  const settings = `v1 ${opts.kind} inline-limit=${opts.inlineLimit ?? DEFAULT_INLINE_LIMIT}`
  const again = unchangedSince(home, cache.lastTree, settings, () => fingerprint, opts.name)
  if (again) return again
  const undo: Undo = {objects: [], layers: []}
  const s = openArchive(path, compression, {digests: false})
  let r: ImportResult
  try {
    r = await importTarStream(home, s.stream, {...opts, source: {kind: opts.kind, path}, beforePublish: s.close}, undo)
  } catch (e) {
    throw await failed(e, s, home, undo)
  }
  cache.setTree({layer: r.layer.id, fingerprint, settings})
  cache.save()
  return r
}

/** After a failure: stop the decompressor, prefer its own complaint, undo what was stored. */
export async function failed(e: unknown, s: {destroy: () => void; close: () => Promise<void>}, home: Home, undo: Undo): Promise<unknown> {
  s.destroy()
  try {
    await s.close()
  } catch (z) {
    // a full disk stays the cause: the decompressor only complains that we stopped reading
    if (!isEnvironmentErrno(e) && (!(e instanceof StrataError) || /truncated/.test(e.message))) e = z
  }
  new ObjectStore(home.objects, home.tmp).rollback(undo.objects, home)
  return e
}
