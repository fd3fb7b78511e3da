// The object store: one read-only file per distinct content, named by its
// fs-verity digest as objects/ab/cdef…, written once by rename.
import {closeSync, existsSync, fchmodSync, ftruncateSync, linkSync, mkdirSync, openSync, readSync, statSync, unlinkSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import {randomBytes} from 'node:crypto'
import {VerityHasher} from './digest.js'

const CHUNK = 1 << 20
const BLOCK = 4096
const ZERO = Buffer.alloc(BLOCK)

export class ObjectStore {
  constructor(readonly dir: string, readonly tmpDir: string) {}

  /** Relative name, as the overlay redirect wants it after a leading '/'. */
  static relPath(digestHex: string) { return `${digestHex.slice(0, 2)}/${digestHex.slice(2)}` }
  path(digestHex: string) { return join(this.dir, digestHex.slice(0, 2), digestHex.slice(2)) }
  has(digestHex: string) { return existsSync(this.path(digestHex)) }

  /** Digest of a file's content, read once. */
  static digestFile(src: Buffer | string, buf = Buffer.allocUnsafe(CHUNK)): {digest: string; size: number} {
    const fd = openSync(src, 'r')
    try {
      const h = new VerityHasher()
      let size = 0
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null)
        if (n === 0) break
        h.update(buf.subarray(0, n))
        size += n
      }
      return {digest: h.digest().toString('hex'), size}
    } finally {
      closeSync(fd)
    }
  }

  /**
   * Stores src's content unless it is there already, reading it once: the
   * data is hashed while it is copied to a temporary file, which is renamed
   * to its digest's name or dropped. Zero blocks are seeked over, so sparse
   * files stay sparse. Not synced: the caller syncs the filesystem once
   * before publishing what refers to the object.
   */
  put(src: Buffer | string, buf = Buffer.allocUnsafe(CHUNK)): {digest: string; size: number; stored: boolean} {
    const tmp = join(this.tmpDir, `obj-${process.pid}-${randomBytes(8).toString('hex')}`)
    const inp = openSync(src, 'r')
    let out: number | undefined
    let size = 0
    const h = new VerityHasher()
    try {
      out = openSync(tmp, 'wx', 0o600)
      for (;;) {
        const n = readSync(inp, buf, 0, buf.length, null)
        if (n === 0) break
        const chunk = buf.subarray(0, n)
        h.update(chunk)
        writeSkippingZeros(out, chunk, size)
        size += n
      }
      ftruncateSync(out, size)
      fchmodSync(out, 0o444)
    } catch (e) {
      if (out !== undefined) {
        closeSync(out)
        unlinkSync(tmp)
      }
      throw e
    } finally {
      closeSync(inp)
    }
    closeSync(out)
    const digest = h.digest().toString('hex')
    // link, not rename: it never replaces, so of two writers of the same
    // content exactly one stores it
    let stored = !this.has(digest)
    if (stored) {
      mkdirSync(join(this.dir, digest.slice(0, 2)), {recursive: true, mode: 0o755})
      try {
        linkSync(tmp, this.path(digest))
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
        stored = false
      }
    }
    unlinkSync(tmp)
    return {digest, size, stored}
  }

  /** Recomputes an object's digest: true when its name still matches its content. */
  verify(digestHex: string): boolean {
    return ObjectStore.digestFile(this.path(digestHex)).digest === digestHex
  }

  size(digestHex: string) { return statSync(this.path(digestHex)).size }
}

function writeSkippingZeros(fd: number, data: Buffer, pos: number) {
  // chunks start block-aligned, so blocks line up with the file's; runs of
  // non-zero blocks go out in one write
  let start = -1
  for (let off = 0; off <= data.length; off += BLOCK) {
    const end = Math.min(off + BLOCK, data.length)
    const zero = off >= data.length || (end - off === BLOCK && data.subarray(off, end).equals(ZERO))
    if (!zero && start < 0) start = off
    if (zero && start >= 0) {
      writeSync(fd, data, start, off - start, pos + start)
      start = -1
    }
  }
  if (start >= 0) writeSync(fd, data, start, data.length - start, pos + start)
}
