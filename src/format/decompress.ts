// A compressed byte stream as one decompressed stream: gzip by zlib, zstd by
// the zstd program (Node 20's zlib has none), hashing the raw and the plain
// bytes on the way (OCI digests and diff ids). Files (import) and network
// bodies (pull) go through the same code.
import {createHash, type Hash} from 'node:crypto'
import {Transform, type Readable, pipeline} from 'node:stream'
import {createGunzip} from 'node:zlib'
import {usage} from '../errors.js'
import {spawnStream} from '../exec.js'

export type Compression = 'none' | 'gzip' | 'zstd'

export interface OpenedStream {
  /** Decompressed bytes. */
  stream: AsyncIterable<Buffer>
  /** The raw bytes' sha256 (hex) and count, once the stream has ended. */
  raw: () => {sha256: string; size: number}
  /** The decompressed bytes' sha256 (hex), once the stream has ended. */
  plain: () => string
  /** Ends the decompressor (if a program) and reports its failure. */
  close: () => Promise<void>
  destroy: () => void
}

const hashing = (h: Hash, count: {n: number}, digests: boolean) =>
  new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (digests) h.update(chunk)
      count.n += chunk.length
      cb(null, chunk)
    },
  })

/**
 * input decompressed; `what` names it in errors. digests false: raw() and
 * plain() give no sha256 (it costs a core-second per GB, and only OCI checks it).
 * chunkSize: gunzip's output pieces (a pull asks for 64 KiB: with 1 MiB ones
 * its peak memory was 30-40 MiB higher, bench/RESULTS.md).
 */
export function decompressStream(input: Readable, compression: Compression, what: string, {digests = true, chunkSize = 1 << 20} = {}): OpenedStream {
  const rawHash = createHash('sha256')
  const plainHash = createHash('sha256')
  const rawCount = {n: 0}
  const plainCount = {n: 0}
  const rawTap = hashing(rawHash, rawCount, digests)
  const plainTap = hashing(plainHash, plainCount, digests)
  let out: Readable
  const fail = (e: Error | null | undefined) => {
    if (e && !plainTap.destroyed) plainTap.destroy(e)
  }
  if (compression === 'zstd') {
    const child = spawnStream('zstd', ['-d', '-c', '-q'])
    pipeline(input, rawTap, child.stdin, (e) => {
      if (e && (e as NodeJS.ErrnoException).code !== 'EPIPE') fail(e)
    })
    out = pipeline(child.stdout, plainTap, fail)
    const close = async () => {
      const r = await child.done
      if (r.exitCode !== 0) throw usage(`${what}: corrupt zstd stream (${String(r.stderr ?? '').trim().split('\n').pop() || `zstd exited ${r.exitCode ?? r.signal}`})`, 'the file is damaged; fetch it again')
    }
    return wrap(out, close, () => {
      plainTap.on('error', () => {})
      input.destroy()
      child.kill()
    })
  }
  out = compression === 'gzip' ? pipeline(input, rawTap, createGunzip({chunkSize}), plainTap, fail) : pipeline(input, rawTap, plainTap, fail)
  return wrap(out, async () => {}, () => {
    plainTap.on('error', () => {})
    input.destroy()
  })

  function wrap(o: Readable, c: () => Promise<void>, d: () => void): OpenedStream {
    o.on('error', () => {}) // the reader sees errors through its iterator; after an abort nobody listens
    let rawDigest: string | undefined
    let plainDigest: string | undefined
    return {
      stream: o,
      raw: () => ({sha256: digests ? (rawDigest ??= rawHash.digest('hex')) : '', size: rawCount.n}),
      plain: () => (digests ? (plainDigest ??= plainHash.digest('hex')) : ''),
      close: c,
      destroy: d,
    }
  }
}
