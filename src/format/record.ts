// strata's records (layer.json, stack.json, session files, the digest
// cache…): JSON documents that carry the version of their form, read by
// readers that refuse a form newer than they know, rather than misread it.
// They are written whole by the one atomic write, store/fsutil.ts writeAtomic
// (docs/design.md, Records).
import {readFileSync} from 'node:fs'
import {environment} from '../errors.js'

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
