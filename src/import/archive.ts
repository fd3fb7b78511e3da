// What an import source is (told by its content, not its name) and its bytes
// as one decompressed stream (format/decompress.ts).
import {type Stats, closeSync, createReadStream, existsSync, openSync, readSync, realpathSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {notFound, usage} from '../errors.js'
import {peekHeader} from '../format/tar-reader.js'
import {type Compression, type OpenedStream, decompressStream} from '../format/decompress.js'

export type {Compression, OpenedStream}
export type Format = 'tar' | 'tar.gz' | 'tar.zst' | 'oci' | 'oci-archive' | 'docker-archive' | 'dir'
export const FORMATS: Format[] = ['tar', 'tar.gz', 'tar.zst', 'oci', 'oci-archive', 'docker-archive', 'dir']

export type ImageFormat = 'oci' | 'oci-archive' | 'docker-archive'
export const isImage = (f: Format): f is ImageFormat => f === 'oci' || f === 'oci-archive' || f === 'docker-archive'

export const compressionOf = (f: Format): Compression => (f === 'tar.gz' ? 'gzip' : f === 'tar.zst' ? 'zstd' : 'none')

/**
 * The path an import reads, as the namespace's process must open it: real
 * (a symlink, /dev/stdin or /dev/fd/N redirected from a file name that file,
 * not whatever that process has open there), and a file or a directory: a
 * pipe or a device would be read by format detection and the import alike.
 */
export function importSource(path: string): string {
  if (path === '-') throw usage('strata import does not read standard input (-)', 'save the stream to a file and import that, or redirect a file: `strata import /dev/stdin < rootfs.tar`')
  const st = statSource(path)
  if (!st.isFile() && !st.isDirectory())
    throw usage(`${path} is ${st.isFIFO() ? 'a pipe' : st.isSocket() ? 'a socket' : 'a device'}, not a file or directory`, 'give a file or directory: save a stream to a file first (e.g. `cat > image.tar`)')
  return realpathSync(path)
}

function statSource(path: string): Stats {
  try {
    return statSync(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`no such file or directory: ${path}`, 'give the path of a directory, tar or OCI layout to import')
    throw e
  }
}

/** A format forced with --format that the source can't be: a directory for an archive format, a file for a tree or a layout. */
export function checkForcedFormat(path: string, format: Format) {
  const dir = statSource(path).isDirectory()
  if (dir && format !== 'dir' && format !== 'oci')
    throw usage(`${path} is a directory: --format ${format} needs a file`, 'give the archive file, or drop --format (a directory is imported as a tree, or as an OCI layout when it holds oci-layout and index.json)')
  if (!dir && (format === 'dir' || format === 'oci'))
    throw usage(`${path} is a file: --format ${format} needs a directory`, `drop --format${format === 'oci' ? ', or use --format oci-archive for an image archive file' : ''}`)
  if (format === 'oci' && !(existsSync(join(path, 'oci-layout')) && existsSync(join(path, 'index.json'))))
    throw usage(`${path} is no OCI image layout: it has no oci-layout and index.json`, 'give an image layout directory, or drop --format to import it as a tree')
}

/** Looks at the first bytes (gzip and zstd magic numbers, a tar header's checksum or "ustar"), then at a tar's entry names: an image archive or a layer. */
export async function detectFormat(path: string): Promise<Format> {
  const f = sniffFormat(path)
  if (f === 'dir' || f === 'oci') return f
  const kind = await imageArchiveKind(path, compressionOf(f))
  return kind ?? f
}

/** The magic numbers only: a directory, an OCI layout, or a tar and its compression. */
export function sniffFormat(path: string): Format {
  const st = statSource(path)
  if (st.isDirectory()) return existsSync(join(path, 'oci-layout')) && existsSync(join(path, 'index.json')) ? 'oci' : 'dir'
  const head = Buffer.alloc(512)
  const fd = openSync(path, 'r')
  let n: number
  try {
    n = readSync(fd, head, 0, 512, 0)
  } finally {
    closeSync(fd)
  }
  if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz'
  if (n >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'tar.zst'
  if (n === 512 && (head.subarray(257, 262).toString('latin1') === 'ustar' || peekHeader(head) !== null)) return 'tar'
  throw usage(`cannot tell what ${path} is: not a tar, gzip or zstd file, nor a directory`, 'pass --format if you know better')
}

// Names an image archive holds (OCI layout, `docker save`, skopeo's docker-archive);
// a layer tar's first entry is almost never one, so the scan stops there. The
// root itself ('./', as `tar -C DIR .` writes it) may be there too.
const IMAGE_ENTRY = /^\.\/?$|^(\.\/)?(oci-layout|index\.json|manifest\.json|repositories|blobs\/?|blobs\/sha(256|512)\/?|blobs\/sha(256|512)\/[0-9a-f]{64,128}|[0-9a-f]{64}(\.json|\.tar)|[0-9a-f]{64}\/?|[0-9a-f]{64}\/(layer\.tar|json|VERSION))$/
const SCAN_LIMIT = 10000

/** 'oci-archive' or 'docker-archive' if every entry name is one an image archive has and the telling ones are there; reads headers only (a plain tar's data is seeked over). */
export async function imageArchiveKind(path: string, compression: Compression): Promise<'oci-archive' | 'docker-archive' | undefined> {
  const names = new Set<string>()
  const see = (name: string): boolean => {
    if (!IMAGE_ENTRY.test(name)) return false
    names.add(name.replace(/^\.\//, ''))
    return names.size < SCAN_LIMIT
  }
  const ok = compression === 'none' ? scanPlainHeaders(path, see) : await scanStreamHeaders(path, compression, see)
  if (!ok) return undefined
  if (names.has('oci-layout') && names.has('index.json')) return 'oci-archive'
  if (names.has('manifest.json')) return 'docker-archive'
  return undefined
}

const EXTENSION = new Set(['x', 'g', 'L', 'K'])

/** Walks a plain tar's headers with one read each; false as soon as see() says no or the tar is odd. */
function scanPlainHeaders(path: string, see: (name: string) => boolean): boolean {
  const fd = openSync(path, 'r')
  const h = Buffer.alloc(512)
  try {
    for (let off = 0; ; ) {
      if (readSync(fd, h, 0, 512, off) < 512 || h.every((b) => b === 0)) return true
      const f = peekHeader(h)
      if (!f) return false
      if (!EXTENSION.has(f.flag) && !see(f.name)) return false
      off += 512 + Math.ceil(f.size / 512) * 512
    }
  } finally {
    closeSync(fd)
  }
}

/** The same over a decompressed stream (data is read and dropped: a compressed tar can't be seeked). */
async function scanStreamHeaders(path: string, compression: Compression, see: (name: string) => boolean): Promise<boolean> {
  const s = openArchive(path, compression, {digests: false})
  let buf: Buffer = Buffer.alloc(0)
  let skip = 0
  try {
    for await (const chunk of s.stream) {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk
      for (;;) {
        if (skip) {
          const n = Math.min(skip, buf.length)
          buf = buf.subarray(n)
          skip -= n
          if (skip) break
        }
        if (buf.length < 512) break
        const h = buf.subarray(0, 512)
        if (h.every((b) => b === 0)) return true
        const f = peekHeader(h)
        if (!f) return false
        if (!EXTENSION.has(f.flag) && !see(f.name)) return false
        skip = 512 + Math.ceil(f.size / 512) * 512
      }
    }
    return true
  } catch {
    return false
  } finally {
    s.destroy()
    await s.close().catch(() => {})
  }
}

/** digests false: raw() and plain() give no sha256 (it costs a core-second per GB, and only OCI checks it). */
export function openArchive(path: string, compression: Compression, {digests = true} = {}): OpenedStream {
  return decompressStream(createReadStream(path, {highWaterMark: 1 << 20}), compression, path, {digests})
}
