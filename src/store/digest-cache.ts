// Remembers the digests of a source tree's files by inode, size, mtime and
// ctime (as git's index does), so importing an unchanged tree again reads
// no file data; and the layer the whole tree (or an archive) became, with a
// fingerprint of every entry's lstat (the archive's), so that importing it
// unchanged writes nothing at all.
// ctime can't be set by anyone: a file whose content, owner, mode or xattrs
// changed has a new ctime. Kept per source path under cache/, rewritten whole.
import {createHash, randomBytes} from 'node:crypto'
import {mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import type {BigIntStats} from 'node:fs'

type Row = [size: string, mtimeNs: string, ctimeNs: string, digest: string]
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
    return Object.values(this.old).map((row) => row[3])
  }

  /** Records the layer this import made of the tree, saved with the digests. */
  setTree(t: TreeRecord) { this.tree = t }

  private key = (st: BigIntStats) => `${st.dev}:${st.ino}`

  get(st: BigIntStats): string | undefined {
    const row = this.old[this.key(st)]
    if (row && row[0] === String(st.size) && row[1] === String(st.mtimeNs) && row[2] === String(st.ctimeNs)) return row[3]
  }

  set(st: BigIntStats, digest: string) {
    this.seen[this.key(st)] = [String(st.size), String(st.mtimeNs), String(st.ctimeNs), digest]
  }

  save() {
    mkdirSync(this.dir, {recursive: true})
    const tmp = `${this.file}.${randomBytes(4).toString('hex')}`
    writeFileSync(tmp, JSON.stringify({files: this.seen, tree: this.tree} satisfies Saved))
    renameSync(tmp, this.file)
  }
}

/**
 * What a tree's entries look like to lstat, independent of walk order: each
 * entry's path, inode, type and mode, owner, size, link count, mtime and
 * ctime. Equal fingerprints mean an equal tree, as far as git's index would
 * tell: anything that changes content, metadata or xattrs moves a ctime.
 */
export class TreeFingerprint {
  private lines: string[] = []

  add(rel: Buffer, st: BigIntStats) {
    this.lines.push(`${rel.toString('hex')} ${st.dev}:${st.ino} ${st.mode} ${st.uid}:${st.gid} ${st.size} ${st.nlink} ${st.rdev} ${st.mtimeNs} ${st.ctimeNs}`)
  }

  digest(): string {
    return createHash('sha256').update(this.lines.sort().join('\n')).digest('hex')
  }
}
