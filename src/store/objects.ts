// The object store: one read-only file per distinct content, named by its
// fs-verity digest as objects/ab/cdef…, written once (see native/object.c).
import {chmodSync, copyFileSync, constants as fsConstants, existsSync, rmdirSync, mkdirSync, renameSync, statSync, unlinkSync} from 'node:fs'
import {join} from 'node:path'
import {sys} from '../sys.js'
import {StoreLock} from './lock.js'
import type {Home} from './home.js'


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

  /** A streaming put: write the content in any chunk sizes, then finish() names it. */
  writer(): ObjectWriter {
    return new ObjectWriter(this)
  }

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

/** Copies a file's content, reflinked where the filesystem can, else with zero blocks left as holes (natively). */
export function copySparse(src: string | Buffer, dst: string | Buffer) {
  try {
    copyFileSync(src, dst, fsConstants.COPYFILE_FICLONE_FORCE)
    return
  } catch {}
  sys.copySparse(src, dst)
}

const fchmodPath = (p: string | Buffer, mode: number) => chmodSync(p, mode)

/** Content streamed into an unnamed file, hashed on the way (natively: sys.objectOpen); named by finish(). */
export class ObjectWriter {
  private w: object

  constructor(private store: ObjectStore) {
    this.w = sys.objectOpen(store.tmpDir)
  }

  /** Appends chunk (copied: the caller keeps it). */
  write(chunk: Buffer) {
    sys.objectWrite(this.w, chunk)
  }

  finish(): {digest: string; size: number; stored: boolean} {
    const [digest, size, stored] = sys.objectFinish(this.w, this.store.dir)
    return {digest, size, stored}
  }

  /** Drops the unnamed file (closing it is all it takes). */
  abort() {
    sys.objectAbort(this.w)
  }
}
