// The import op, inside the namespace: one source (directory, tar, tar.gz,
// tar.zst, OCI layout, OCI or docker image archive) in, layers out.
import type {Home} from '../store/home.js'
import {usage} from '../errors.js'
import type {StubForm} from '../format/stub.js'
import {streamProgress, importProgress} from '../progress.js'
import {type Format, type ImageFormat, compressionOf, isImage} from './archive.js'
import {importDir} from './dir.js'
import {importTarFile} from './tar.js'
import {importOci, type OciImportResult} from './oci.js'
import {importImageArchive} from './image-archive.js'
import type {ImportResult} from '../layer/publish.js'

export interface ArchiveImportArgs {
  source: string
  format: Format
  ref?: string
  name?: string
  move?: boolean
  inlineLimit?: number
  /** the stubs' form: short (format 2, the default) or digest (see format/stub.ts) */
  stubs?: StubForm
  progress?: boolean
}


export type ArchiveImportResult =
  | ({format: ImageFormat} & OciImportResult)
  | ({format: Exclude<Format, ImageFormat>} & ImportResult)

export async function importArchive(home: Home, a: ArchiveImportArgs): Promise<ArchiveImportResult> {
  if (a.move && a.format !== 'dir') throw usage('--move works on directories only', 'import archives without --move: they are read once, never unpacked')
  if (isImage(a.format)) {
    const progress = streamProgress(a.progress === true)
    const opts = {ref: a.ref, name: a.name, inlineLimit: a.inlineLimit, stubs: a.stubs, onProgress: progress.update}
    try {
      if (a.format === 'oci') return {format: 'oci', ...(await importOci(home, a.source, opts))}
      return {format: a.format, ...(await importImageArchive(home, a.source, a.format, opts))}
    } finally {
      progress.done()
    }
  }
  if (a.ref) throw usage(`'${a.ref}' names an image, but ${a.source} is not an OCI layout or image archive`, 'a tag or digest (SOURCE:TAG) applies to OCI layouts and image archives only')
  let r: ImportResult
  if (a.format === 'dir') {
    const progress = importProgress(a.progress === true)
    try {
      if (a.move) {
        const {importMove} = await import('./stamp.js')
        r = await importMove(home, a.source, {name: a.name, inlineLimit: a.inlineLimit, onProgress: progress.update})
      } else r = await importDir(home, a.source, {name: a.name, inlineLimit: a.inlineLimit, stubs: a.stubs, onProgress: progress.update})
    } finally {
      progress.done()
    }
  } else {
    const progress = streamProgress(a.progress === true)
    try {
      r = await importTarFile(home, a.source, compressionOf(a.format), {kind: a.format, name: a.name, inlineLimit: a.inlineLimit, stubs: a.stubs, onProgress: progress.update})
    } finally {
      progress.done()
    }
  }
  return {format: a.format, ...r}
}
