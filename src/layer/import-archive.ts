// The import op, inside the namespace: one source (directory, tar, tar.gz,
// tar.zst, OCI layout) in, layers (and optionally a stack) out.
import type {Home} from '../store/home.js'
import {usage} from '../cli/errors.js'
import {streamProgress, importProgress} from '../cli/progress.js'
import type {Mapping} from '../ns/idmap.js'
import {StackStore, checkStackName, type StackInfo} from '../stack/stacks.js'
import {conflict} from '../cli/errors.js'
import {type Format, compressionOf} from './archive.js'
import {importDir} from './import-dir.js'
import {importTarFile} from './import-tar.js'
import {importOci, type OciImportResult} from './import-oci.js'
import type {ImportResult} from './publish.js'

export interface ArchiveImportArgs {
  source: string
  format: Format
  ref?: string
  name?: string
  stack?: string
  move?: boolean
  inlineLimit?: number
  mapping: Mapping
  backend?: string
  progress?: boolean
}

export type ArchiveImportResult =
  | ({format: 'oci'} & OciImportResult)
  | ({format: Exclude<Format, 'oci'>} & ImportResult & {stack?: StackInfo})

export async function importArchive(home: Home, a: ArchiveImportArgs): Promise<ArchiveImportResult> {
  if (a.move && a.format !== 'dir') throw usage('--move works on directories only', 'import archives without --move: they are read once, never unpacked')
  if (a.format === 'oci') {
    const progress = streamProgress(a.progress === true)
    try {
      return {format: 'oci', ...(await importOci(home, a.source, {ref: a.ref, name: a.name, stack: a.stack, mapping: a.mapping, backend: a.backend, inlineLimit: a.inlineLimit, onProgress: progress.update}))}
    } finally {
      progress.done()
    }
  }
  if (a.ref) throw usage(`'${a.ref}' names an image, but ${a.source} is not an OCI layout`, 'a tag or digest (SOURCE:TAG) applies to OCI layouts only')
  const stacks = new StackStore(home)
  if (a.stack) {
    checkStackName(a.stack)
    if (stacks.has(a.stack)) throw conflict(`stack '${a.stack}' already exists`, 'choose another name, or remove it with `strata stack rm`')
  }
  let r: ImportResult
  if (a.format === 'dir') {
    const progress = importProgress(a.progress === true)
    try {
      if (a.move) {
        const {importMove} = await import('./stamp.js')
        r = await importMove(home, a.source, {name: a.name, inlineLimit: a.inlineLimit, onProgress: progress.update})
      } else r = await importDir(home, a.source, {name: a.name, inlineLimit: a.inlineLimit, onProgress: progress.update})
    } finally {
      progress.done()
    }
  } else {
    const progress = streamProgress(a.progress === true)
    try {
      r = await importTarFile(home, a.source, compressionOf(a.format), {kind: a.format, name: a.name, inlineLimit: a.inlineLimit, onProgress: progress.update})
    } finally {
      progress.done()
    }
  }
  const stack = a.stack ? stacks.create(a.stack, [r.layer.id], a.mapping, a.backend) : undefined
  return {format: a.format, ...r, stack}
}
