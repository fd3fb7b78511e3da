// A layer blob's raw bytes kept in staging as they arrive (tmp/blob-<hex>),
// so that a pull killed or cut off half-way through a big layer resumes
// where it stopped (docs/design.md, Registries): the next pull reads back
// what landed through the decompressor and importer (their state can't be
// kept), then fetches only the rest by Range. The file is written, never
// read, on the way of a pull that isn't interrupted, and goes when its layer
// is published. Its writer holds its lock (store/staging.ts), so while a
// pull works on it nobody else does, and once that pull is gone it is a
// leftover that `check` lists and `gc` removes.
import {closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, statSync, unlinkSync, writeSync, constants as fc} from 'node:fs'
import {join} from 'node:path'
import {InodeLock} from '../store/lock.js'

/** Blobs below this are fetched again whole: keeping them costs more than it saves. */
export const RESUME_MIN = Number(process.env.STRATA_RESUME_MIN ?? 4 << 20)

export class PartialBlob {
  /** Bytes already here (a prefix of the blob, unchecked until the whole blob is hashed). */
  readonly have: number
  private written = 0

  private constructor(readonly path: string, private fd: number, private lock: InodeLock, have: number) {
    this.have = have
  }

  /** The blob's partial file, locked as ours; null when another pull is fetching the same blob (this one then keeps nothing). */
  static open(tmp: string, digest: string, size: number): PartialBlob | null {
    mkdirSync(tmp, {recursive: true, mode: 0o700})
    const path = join(tmp, `blob-${digest.replace(/^sha256:/, '')}`)
    for (;;) {
      const fd = openSync(path, fc.O_RDWR | fc.O_CREAT, 0o600)
      const lock = InodeLock.take(path, true, false)
      if (lock === 'busy') {
        closeSync(fd)
        return null
      }
      // removed as a leftover (by gc) between our open and our lock: another
      const now = statSync(path, {throwIfNoEntry: false})
      if (lock === 'gone' || !now || now.ino !== fstatSync(fd).ino) {
        if (typeof lock !== 'string') lock.release()
        closeSync(fd)
        continue
      }
      let have = fstatSync(fd).size
      if (have > size) {
        ftruncateSync(fd, 0) // not this blob's prefix: start again
        have = 0
      }
      return new PartialBlob(path, fd, lock, have)
    }
  }

  /** What landed before, then the rest as fetched (each chunk kept before it goes on). */
  async *around(rest: AsyncIterable<Buffer>, chunk = 1 << 20): AsyncGenerator<Buffer> {
    for (let pos = 0; pos < this.have; ) {
      const b = Buffer.allocUnsafe(Math.min(chunk, this.have - pos))
      const n = readSync(this.fd, b, 0, b.length, pos)
      if (n === 0) throw new Error(`${this.path} shrank while read`)
      pos += n
      yield n === b.length ? b : b.subarray(0, n)
    }
    for await (const c of rest) {
      let off = 0
      while (off < c.length) off += writeSync(this.fd, c, off, c.length - off, this.have + this.written + off)
      this.written += c.length
      yield c
    }
  }

  /** Left for the next pull (a failure the network or the machine caused); the lock goes, so it is a leftover until then. */
  keep() {
    this.close()
  }

  /** Gone: the layer is published, or what landed can't be trusted (a digest or format failure). */
  discard() {
    try {
      unlinkSync(this.path)
    } catch {}
    this.close()
  }

  private close() {
    if (this.fd < 0) return
    closeSync(this.fd)
    this.fd = -1
    this.lock.release()
  }
}
