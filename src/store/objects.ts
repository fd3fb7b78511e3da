// The object store: one read-only file per distinct content, named by its
// fs-verity digest as objects/ab/cdef…, written once (see native/object.c),
// and (format 2) a short alias of each, a hardlink objects/ab/<20 hex>.
import {chmodSync, copyFileSync, constants as fsConstants, existsSync, lstatSync, readdirSync, rmdirSync, mkdirSync, renameSync, statSync, unlinkSync} from 'node:fs'
import {join} from 'node:path'
import {sys} from '../sys.js'
import {StoreLock} from './lock.js'
import type {Home} from './home.js'
import {aliasHex} from '../format/stub.js'
import {objectRel} from '../format/xattrs.js'

/** What storing content gave: its digest and size, whether this stored it, and its alias's length (0: none asked for). */
export interface Stored {digest: string; size: number; stored: boolean; alias: number}

export class ObjectStore {
  /** alias: the alias length new objects get (0: none, for stubs of the digest form) */
  constructor(readonly dir: string, readonly tmpDir: string, readonly aliasMin = aliasHex()) {}

  /** Relative name, as the overlay redirect wants it after a leading '/'. */
  static relPath(digestHex: string) { return `${digestHex.slice(0, 2)}/${digestHex.slice(2)}` }
  path(digestHex: string) { return join(this.dir, digestHex.slice(0, 2), digestHex.slice(2)) }
  has(digestHex: string) { return existsSync(this.path(digestHex)) }
  /** Where an object name a redirect gives (a digest, or an alias's "ab…") is. */
  pathOf(name: string) { return join(this.dir, objectRel(name)) }

  /** The object's alias (made when missing; native/object.c's link_alias): its length, or 0 when this store makes none. */
  alias(digestHex: string): number {
    return this.aliasMin > 0 ? sys.objectAlias(this.dir, digestHex, this.aliasMin) : 0
  }

  /**
   * The names in objects/ab/ that are hardlinks to the object digest (its
   * aliases, shortest first): those that prefix its name and share its inode.
   */
  aliasesOf(digestHex: string, names?: string[]): string[] {
    const pre = digestHex.slice(0, 2)
    let ino: number
    try {
      ino = lstatSync(this.path(digestHex)).ino
    } catch {
      return []
    }
    const out: string[] = []
    for (const n of names ?? readdirSync(join(this.dir, pre))) {
      if (n.length >= 62 || !digestHex.startsWith(pre + n, 0)) continue
      try {
        if (lstatSync(join(this.dir, pre, n)).ino === ino) out.push(pre + n)
      } catch {}
    }
    return out.sort((a, b) => a.length - b.length)
  }

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
  put(src: Buffer | string): Stored {
    const [digest, size, stored, alias] = sys.storeFile(src, this.tmpDir, this.dir, this.aliasMin)
    return {digest, size, stored, alias}
  }


  /**
   * Moves a file into the store by rename (zero-copy), or copies it when it
   * lives on another filesystem; drops it when the store has the content.
   * The file's name is gone afterwards either way.
   */
  adopt(src: string | Buffer): Stored {
    const {digest, size} = ObjectStore.digestFile(src)
    if (this.has(digest)) {
      unlinkSync(src)
      return {digest, size, stored: false, alias: this.alias(digest)}
    }
    mkdirSync(join(this.dir, digest.slice(0, 2)), {recursive: true, mode: 0o755})
    try {
      fchmodPath(src, 0o444)
      renameSync(src, this.path(digest))
      return {digest, size, stored: true, alias: this.alias(digest)}
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
      // the aliases first: an alias never outlives its object's name (gc's rule too)
      for (const a of this.aliasesOf(d))
        try {
          unlinkSync(this.pathOf(a))
        } catch {}
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

/**
 * The aliases among the names of objects/pre/ (names of fewer than 62 hex
 * digits), each with the object it is a hardlink to: the one whose name
 * begins with it and shares its inode (its digest), or null (an alias of no
 * object: its object's name was removed, or it is not a link at all).
 */
export function aliasOwners(objectsDir: string, pre: string, names: string[]): Map<string, string | null> {
  const out = new Map<string, string | null>()
  if (!/^[0-9a-f]{2}$/.test(pre)) return out
  const full = names.filter((n) => n.length === 62).sort()
  const inoOf = (n: string) => {
    try {
      const st = lstatSync(join(objectsDir, pre, n))
      return st.isFile() ? st.ino : -1
    } catch {
      return -2
    }
  }
  for (const a of names) {
    if (a.length >= 62 || !/^[0-9a-f]+$/.test(a)) continue
    const ino = inoOf(a)
    let owner: string | null = null
    // the full names beginning with a: a run in sorted order, from the first not below it
    let lo = 0
    let hi = full.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (full[mid] < a) lo = mid + 1
      else hi = mid
    }
    for (let i = lo; ino >= 0 && i < full.length && full[i].startsWith(a); i++)
      if (inoOf(full[i]) === ino) {
        owner = pre + full[i]
        break
      }
    out.set(a, owner)
  }
  return out
}
