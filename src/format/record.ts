// strata's records (layer.json, stack.json, session files, the digest
// cache…): JSON documents that carry the version of their form, written
// whole by one atomic write, and read by readers that refuse a form newer
// than they know, rather than misread it (docs/design.md, Records).
import {closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {randomBytes} from 'node:crypto'
import {environment} from '../errors.js'

export interface AtomicOptions {
  mode?: number
  /** Where the temporary file goes (the same filesystem as path); beside it by default. */
  tmpDir?: string
  /** fsync before the rename: for what must survive a crash whole, not just never be seen half written. */
  sync?: boolean
}

/** Writes a file so that a reader sees the old content or the new, never part: a temporary file, then rename. */
export function writeFileAtomic(path: string, data: string | Buffer, o: AtomicOptions = {}) {
  const tmp = join(o.tmpDir ?? dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}`)
  try {
    const fd = openSync(tmp, 'wx', o.mode ?? 0o644)
    try {
      writeFileSync(fd, data)
      if (o.sync) fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, path)
  } catch (e) {
    rmSync(tmp, {force: true})
    throw e
  }
}

/** The version of each record's form that this strata writes, and the newest it reads. */
export const RECORD_VERSIONS = {
  layer: 1,
  stack: 1,
  session: 1,
  'digest-cache': 1,
  'backend-probe': 1,
} as const
export type RecordKind = keyof typeof RECORD_VERSIONS

/** A record in its current form: the version first, then its fields. */
export function encodeRecord(kind: RecordKind, value: object): string {
  return JSON.stringify({version: RECORD_VERSIONS[kind], ...value}, null, 2) + '\n'
}

export function writeRecord(path: string, kind: RecordKind, value: object, o: AtomicOptions = {}) {
  writeFileAtomic(path, encodeRecord(kind, value), o)
}

/**
 * A record's fields (without its version). A record from before versions
 * is version 1; a newer one than this strata knows is refused, naming the file.
 */
export function decodeRecord<T>(kind: RecordKind, text: string, path: string): T {
  const {version = 1, ...fields} = JSON.parse(text) as {version?: number}
  if (typeof version !== 'number' || version > RECORD_VERSIONS[kind])
    throw environment(`${path} is a version ${version} ${kind} record; this strata reads up to version ${RECORD_VERSIONS[kind]}`, 'upgrade strata to the version that wrote it')
  return fields as T
}

export function readRecord<T>(path: string, kind: RecordKind): T {
  return decodeRecord<T>(kind, readFileSync(path, 'utf8'), path)
}
