// Remembers the digests of a source tree's files by what lstat says of them
// (inode, size, mtime and ctime among it, as git's index does), so importing
// an unchanged tree again reads no file data; and the layer the whole tree
// (or an archive) became, with a fingerprint of every entry's lstat (the
// archive's), so that importing it unchanged writes nothing at all.
// ctime can't be set by anyone: a file whose content, owner, mode or xattrs
// changed has a new ctime. Kept per source path under cache/, rewritten whole.
import {createHash} from 'node:crypto'
import {mkdirSync, readFileSync} from 'node:fs'
import {RECORD_VERSIONS, decodeRecord} from '../format/record.js'
import {inodeOf} from '../walk.js'
import {join} from 'node:path'
import {writeAtomic} from './fsutil.js'

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
    const saved = readCache(this.file)
    this.old = saved?.files ?? {}
    this.lastTree = saved?.tree
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
    try {
      mkdirSync(this.dir, {recursive: true})
      writeAtomic(this.file, JSON.stringify({version: RECORD_VERSIONS['digest-cache'], files: this.seen, tree: this.tree}), this.dir, 'digest-cache')
    } catch {} // a cache: the next import reads the tree again
  }
}

/**
 * A cache file's content; undefined when it can't be read or is of a newer
 * form than this strata reads: a cache is rebuildable, so it is then as if
 * empty (and rewritten in this strata's form).
 */
function readCache(file: string): Saved | undefined {
  try {
    return decodeRecord<Saved>('digest-cache', readFileSync(file, 'utf8'), file)
  } catch {
    return undefined
  }
}

/** The layer a digest cache file says its source's last import made; undefined when it says none, or can't be read. */
export function recordedLayer(file: string): string | undefined {
  return readCache(file)?.tree?.layer
}

export {inodeOf}

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
