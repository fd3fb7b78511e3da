// The object store: one read-only file per distinct content, named by its
// fs-verity digest as objects/ab/cdef…, written once by rename.
import {chmodSync, copyFileSync, constants as fsConstants, closeSync, existsSync, rmdirSync, ftruncateSync, mkdirSync, openSync, readSync, renameSync, statSync, unlinkSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import {VerityHasher} from './digest.js'
import {O_TMPFILE, sys} from '../sys/index.js'
import {StoreLock} from './lock.js'
import type {Home} from './home.js'

const CHUNK = 1 << 20
/** The size of an ObjectWriter's staging buffer. */
export const OBJECT_CHUNK = CHUNK
const BLOCK = 4096
const ZERO = Buffer.alloc(BLOCK)

export class ObjectStore {
  constructor(readonly dir: string, readonly tmpDir: string) {}

  /** Relative name, as the overlay redirect wants it after a leading '/'. */
  static relPath(digestHex: string) { return `${digestHex.slice(0, 2)}/${digestHex.slice(2)}` }
  path(digestHex: string) { return join(this.dir, digestHex.slice(0, 2), digestHex.slice(2)) }
  has(digestHex: string) { return existsSync(this.path(digestHex)) }

  /** Digest of a file's content, read once (natively: see sys.storeFile). */
  static digestFile(src: Buffer | string): {digest: string; size: number} {
    const [digest, size] = sys.storeFile(src, null, null)
    return {digest, size}
  }

  /**
   * Stores src's content unless it is there already, reading it once: the
   * data is hashed while it is copied to an unnamed file (O_TMPFILE), which
   * is then linked at its digest's name, or dropped. Nothing to clean up if
   * the process dies, and no directory is touched but the object's. Zero
   * blocks are seeked over, so sparse files stay sparse. Not synced: the
   * caller syncs the filesystem once before publishing what refers to the
   * object. Natively (sys.storeFile): this is most of an import's work.
   */
  put(src: Buffer | string): {digest: string; size: number; stored: boolean} {
    const [digest, size, stored] = sys.storeFile(src, this.tmpDir, this.dir)
    return {digest, size, stored}
  }

  /** A streaming put: write the content in any chunk sizes, then finish() names it. buf: a reusable staging buffer of CHUNK bytes. */
  writer(buf?: Buffer): ObjectWriter {
    return new ObjectWriter(this, buf)
  }

  /** An unnamed, read-only file on the store's filesystem, open for writing. */
  openTmp(): number {
    return openSync(this.tmpDir, O_TMPFILE | fsConstants.O_RDWR, 0o444)
  }

  /** Names an unnamed file (openTmp) by its digest, unless the store has that content. */
  commitFd(fd: number, digest: string): boolean {
    // linking never replaces: of two writers of the same content exactly one stores it (and says so)
    const prefix = digest.slice(0, 2)
    if (!this.prefixes.has(prefix)) {
      mkdirSync(join(this.dir, prefix), {recursive: true, mode: 0o755})
      this.prefixes.add(prefix)
    }
    try {
      sys.linkfd(fd, this.path(digest))
      return true
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      return false
    }
  }

  private prefixes = new Set<string>() // objects/ab/ directories known to exist

  /**
   * Moves a file into the store by rename (zero-copy), or copies it when it
   * lives on another filesystem; drops it when the store has the content.
   * The file's name is gone afterwards either way.
   */
  adopt(src: string | Buffer): {digest: string; size: number; stored: boolean} {
    const {digest, size} = ObjectStore.digestFile(src)
    if (this.has(digest)) {
      unlinkSync(src)
      return {digest, size, stored: false}
    }
    mkdirSync(join(this.dir, digest.slice(0, 2)), {recursive: true, mode: 0o755})
    try {
      fchmodPath(src, 0o444)
      renameSync(src, this.path(digest))
      return {digest, size, stored: true}
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e
    }
    const r = this.put(src)
    unlinkSync(src)
    return r
  }

  /** Removes objects an import stored, when the import fails (best effort: the names are ours). */
  rollback(digests: string[], home: Home) {
    if (!StoreLock.mayUndo(home)) return // another import may refer to them: gc will tell
    for (const d of digests) {
      try {
        unlinkSync(this.path(d))
      } catch {}
      try {
        rmdirSync(join(this.dir, d.slice(0, 2)))
      } catch {}
    }
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

/** Copies a file's content, reflinked where the filesystem can, else block by block with zero blocks left as holes. */
export function copySparse(src: string | Buffer, dst: string | Buffer) {
  try {
    copyFileSync(src, dst, fsConstants.COPYFILE_FICLONE_FORCE)
    return
  } catch {}
  const inp = openSync(src, 'r')
  const out = openSync(dst, 'wx', 0o600)
  const buf = Buffer.allocUnsafe(CHUNK)
  try {
    let pos = 0
    for (let n; (n = readSync(inp, buf, 0, buf.length, null)) > 0; pos += n) writeSkippingZeros(out, buf.subarray(0, n), pos)
    ftruncateSync(out, pos)
  } finally {
    closeSync(inp)
    closeSync(out)
  }
}

const fchmodPath = (p: string | Buffer, mode: number) => chmodSync(p, mode)

/** Content streamed into a temporary file in tmp/, hashed on the way; named by finish(). */
export class ObjectWriter {
  private hasher = new VerityHasher()
  private fill = 0
  private pos = 0
  private fd: number
  size = 0

  // a caller writing many objects passes one buffer for all: a fresh MiB each is GC churn
  constructor(private store: ObjectStore, private buf: Buffer = Buffer.allocUnsafe(CHUNK)) {
    if (buf.length !== CHUNK) throw new RangeError(`an object writer's buffer is ${CHUNK} bytes`)
    this.fd = store.openTmp()
  }

  write(chunk: Buffer) {
    this.hasher.update(chunk)
    this.size += chunk.length
    let off = 0
    while (off < chunk.length) {
      const n = Math.min(chunk.length - off, CHUNK - this.fill)
      chunk.copy(this.buf, this.fill, off, off + n)
      this.fill += n
      off += n
      if (this.fill === CHUNK) this.flush()
    }
  }

  private flush() {
    // the buffer starts block-aligned in the file: zero blocks become holes
    writeSkippingZeros(this.fd, this.buf.subarray(0, this.fill), this.pos)
    this.pos += this.fill
    this.fill = 0
  }

  finish(): {digest: string; size: number; stored: boolean} {
    try {
      this.flush()
      ftruncateSync(this.fd, this.pos)
      const digest = this.hasher.digest().toString('hex')
      return {digest, size: this.size, stored: this.store.commitFd(this.fd, digest)}
    } finally {
      this.abort()
    }
  }

  /** Drops the unnamed file (closing it is all it takes). */
  abort() {
    try {
      closeSync(this.fd)
    } catch {}
  }
}
