// store.json: what a store says of itself — its record version, the id
// mapping its files' owners depend on, and its on-disk format (docs/design.md,
// On-disk layout): 1, stubs in the digest form only; 2, short stubs, object
// aliases and a digest index per layer; 3, and the layer index (which an
// older strata would leave stale, so it must not write here). One writer for every field: a field
// written keeps the others (read, merged, written to a temporary name and
// renamed over, so a reader never sees half a file).
import {existsSync, readFileSync} from 'node:fs'
import type {Home} from './home.js'
import {writeAtomic} from './fsutil.js'
import {environment} from '../errors.js'

/** The format this strata writes, and the newest it reads. */
export const STORE_FORMAT = 3

export interface StoreFile {
  version: 1
  mapping?: string
  /** absent: format 1 (what strata wrote before formats were recorded) */
  format?: number
  [field: string]: unknown
}

export function readStoreFile(home: Home): StoreFile | undefined {
  if (!existsSync(home.storeFile)) return undefined
  return JSON.parse(readFileSync(home.storeFile, 'utf8')) as StoreFile
}

/** Sets fields of store.json, keeping the others; a new store.json is of the current format. */
export function writeStoreFile(home: Home, fields: Partial<StoreFile>) {
  const now = readStoreFile(home) ?? {version: 1, format: STORE_FORMAT}
  writeAtomic(home.storeFile, JSON.stringify({...now, ...fields, version: 1}, null, 2) + '\n', home.tmp, 'store-json')
}

/** The store's format: 1 for a store.json that names none; STORE_FORMAT for a store not made yet. */
export function storeFormat(home: Home): number {
  const f = readStoreFile(home)
  return f ? f.format ?? 1 : STORE_FORMAT
}

/** Refuses a store a newer strata made: its format may mean things this one would misread (exit 5). */
export function checkStoreFormat(home: Home): number {
  const format = storeFormat(home)
  if (!Number.isInteger(format) || format < 1 || format > STORE_FORMAT)
    throw environment(
      `the store at ${home.root} is of format ${format}, newer than this strata reads (format ${STORE_FORMAT} at most)`,
      'use the strata that made it (or a newer one), or another STRATA_HOME',
    )
  return format
}
