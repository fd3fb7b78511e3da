// Remembers the digests of a source tree's files by inode, size, mtime and
// ctime (as git's index does), so importing an unchanged tree again reads
// no file data. ctime can't be set by anyone: a file whose content changed
// has a new ctime. Kept per source path under cache/, rewritten whole.
import {createHash, randomBytes} from 'node:crypto'
import {mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import type {BigIntStats} from 'node:fs'

type Row = [size: string, mtimeNs: string, ctimeNs: string, digest: string]

export class DigestCache {
  private old: Record<string, Row> = {}
  private seen: Record<string, Row> = {}
  private readonly file: string

  constructor(private readonly dir: string, source: string) {
    this.file = join(dir, createHash('sha256').update(source).digest('hex').slice(0, 32) + '.json')
    try {
      this.old = JSON.parse(readFileSync(this.file, 'utf8'))
    } catch {
      this.old = {}
    }
  }

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
    writeFileSync(tmp, JSON.stringify(this.seen))
    renameSync(tmp, this.file)
  }
}
