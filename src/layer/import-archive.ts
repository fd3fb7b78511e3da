// The import op, inside the namespace: one source (directory, tar, tar.gz,
// tar.zst, OCI layout, OCI or docker image archive) in, layers (and optionally a stack) out.
import type {Home} from '../store/home.js'
import {usage} from '../cli/errors.js'
import {streamProgress, importProgress} from '../cli/progress.js'
import type {Mapping} from '../ns/idmap.js'
import {StackStore, checkStackName, type StackInfo} from '../stack/stacks.js'
import {conflict} from '../cli/errors.js'
import {type Format, type ImageFormat, compressionOf, isImage} from './archive.js'
import {importDir} from './import-dir.js'
import {importTarFile} from './import-tar.js'
import {importOci, type OciImportResult} from './import-oci.js'
import {importImageArchive} from './import-image-archive.js'
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
  | ({format: ImageFormat} & OciImportResult)
  | ({format: Exclude<Format, ImageFormat>} & ImportResult & {stack?: StackInfo})

export async function importArchive(home: Home, a: ArchiveImportArgs): Promise<ArchiveImportResult> {
  if (a.move && a.format !== 'dir') throw usage('--move works on directories only', 'import archives without --move: they are read once, never unpacked')
  if (isImage(a.format)) {
    const progress = streamProgress(a.progress === true)
    const opts = {ref: a.ref, name: a.name, stack: a.stack, mapping: a.mapping, backend: a.backend, inlineLimit: a.inlineLimit, onProgress: progress.update}
    try {
      if (a.format === 'oci') return {format: 'oci', ...(await importOci(home, a.source, opts))}
      return {format: a.format, ...(await importImageArchive(home, a.source, a.format, opts))}
    } finally {
      progress.done()
    }
  }
  if (a.ref) throw usage(`'${a.ref}' names an image, but ${a.source} is not an OCI layout or image archive`, 'a tag or digest (SOURCE:TAG) applies to OCI layouts and image archives only')
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
