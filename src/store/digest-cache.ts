// Remembers the digests of a source tree's files by what lstat says of them
// (inode, size, mtime and ctime among it, as git's index does), so importing
// an unchanged tree again reads no file data; and the layer the whole tree
// (or an archive) became, with a fingerprint of every entry's lstat (the
// archive's), so that importing it unchanged writes nothing at all.
// ctime can't be set by anyone: a file whose content, owner, mode or xattrs
// changed has a new ctime. Kept per source path under cache/, rewritten whole.
import {createHash, randomBytes} from 'node:crypto'
import {mkdirSync, readFileSync, unlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {publish} from './fsutil.js'

/** What lstat said of the file (its ident, as sys.scanDir gives it) and its content's digest. */
type Row = [ident: string, digest: string]
/** The layer a tree became, and how: its entries' fingerprint (see TreeFingerprint) and the import's settings. */
export interface TreeRecord {layer: string; fingerprint: string; settings: string}
interface Saved {files: Record<string, Row>; tree?: TreeRecord}

export class DigestCache {
  private old: Record<string, Row> = {}
  private seen: Record<string, Row> = {}
  private readonly file: string
  /** The tree's last import, if it was recorded. */
  readonly lastTree: TreeRecord | undefined
  private tree: TreeRecord | undefined

  constructor(private readonly dir: string, source: string) {
    this.file = join(dir, createHash('sha256').update(source).digest('hex').slice(0, 32) + '.json')
    try {
      const saved: Saved = JSON.parse(readFileSync(this.file, 'utf8'))
      this.old = saved.files ?? {}
      this.lastTree = saved.tree
    } catch {
      this.old = {}
    }
  }

  /** The digests of the files the last import saw: every object of the layer it made. */
  lastDigests(): string[] {
    return Object.values(this.old).map((row) => row[1])
  }

  /** Records the layer this import made of the tree, saved with the digests. */
  setTree(t: TreeRecord) { this.tree = t }

  /** The digest of the file lstat describes as ident, if it was seen so before. */
  get(ident: string): string | undefined {
    const row = this.old[inodeOf(ident)]
    if (row && row[0] === ident) return row[1]
  }

  set(ident: string, digest: string) {
    this.seen[inodeOf(ident)] = [ident, digest]
  }

  /**
   * Saves what this import learned, if it can: a cache, so a failure to save
   * (a full disk) costs the next import its shortcut and fails nothing.
   */
  save() {
    const tmp = `${this.file}.${randomBytes(4).toString('hex')}`
    try {
      mkdirSync(this.dir, {recursive: true})
      writeFileSync(tmp, JSON.stringify({files: this.seen, tree: this.tree} satisfies Saved))
      publish(tmp, this.file, 'digest-cache')
    } catch {
      try {
        unlinkSync(tmp)
      } catch {}
    }
  }
}

/** The layer a digest cache file says its source's last import made; undefined when it says none, or can't be read. */
export function recordedLayer(file: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as Saved).tree?.layer
  } catch {
    return undefined
  }
}

/** The inode an ident names ("dev:ino"): hardlinks share it. */
export const inodeOf = (ident: string) => ident.slice(0, ident.indexOf(' '))

/**
 * What a tree's entries look like to lstat, independent of walk order: each
 * entry's path and ident (inode, type and mode, owner, size, link count,
 * mtime and ctime). Equal fingerprints mean an equal tree, as far as git's
 * index would tell: anything that changes content, metadata or xattrs moves
 * a ctime.
 */
export class TreeFingerprint {
  private lines: string[] = []

  add(rel: Buffer, ident: string) {
    this.lines.push(`${rel.toString('hex')} ${ident}`)
  }

  digest(): string {
    return createHash('sha256').update(this.lines.sort().join('\n')).digest('hex')
  }
}
