// Layers back out as tars (whiteouts as .wh. entries, opaque dirs as
// .wh..wh..opq, xattrs as PAX SCHILY.xattr, mtimes to the ns), and stacks as
// OCI image layouts. Importing what is exported gives the same layer ids.
import {closeSync, createReadStream, createWriteStream, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {createHash, randomBytes, type Hash} from 'node:crypto'
import {createGzip} from 'node:zlib'
import {pipeline} from 'node:stream/promises'
import {Transform} from 'node:stream'
import type {Home} from '../store/home.js'
import {ObjectStore} from '../store/objects.js'
import {environment, notFound, usage} from '../errors.js'
import {LayerStore} from '../layer/layers.js'
import {scanTree, abs} from '../layer/scan.js'
import type {Entry} from '../format/entry.js'
import {type TarHeader, headerBlocks, padding, endOfArchive} from '../format/tar-writer.js'
import {MT, REF_NAME, type Descriptor} from '../format/oci.js'
import {writeAtomic} from '../store/fsutil.js'

const SLASH = Buffer.from('/')
const WH = Buffer.from('.wh.')
const OPQ = Buffer.from('.wh..wh..opq')

/** Writes a layer's tree as a tar into fd; returns bytes written and the tar's sha256 (its OCI diff id). */
export function writeLayerTar(home: Home, id: string, fd: number): {size: number; sha256: string; entries: number} {
  const tree = new LayerStore(home).tree(id)
  const objects = new ObjectStore(home.objects, home.tmp)
  const h = createHash('sha256')
  let size = 0
  const out = (b: Buffer) => {
    h.update(b)
    for (let off = 0; off < b.length; ) off += writeAll(fd, b, off)
    size += b.length
  }
  const buf = Buffer.allocUnsafe(1 << 20)
  const copy = (path: Buffer | string, n: number) => {
    const f = openSync(path, 'r')
    try {
      let left = n
      while (left > 0) {
        const k = readSync(f, buf, 0, Math.min(buf.length, left), null)
        if (k === 0) throw new Error(`${path.toString()} is shorter than its entry says`)
        out(buf.subarray(0, k))
        left -= k
      }
    } finally {
      closeSync(f)
    }
    out(padding(n))
  }
  const entries = scanTree(tree)
  for (const e of entries) {
    const meta = {mode: e.mode, uid: e.uid, gid: e.gid, mtimeNs: e.mtimeNs, xattrs: e.xattrs}
    const name = e.path.length ? e.path : Buffer.from('./')
    if (e.type === 'dir') {
      if (!e.implicit) out(headerBlocks({...meta, name, flag: '5', size: 0}))
      if (e.opaque) out(headerBlocks({name: join2(e.path, OPQ), flag: '0', mode: 0o644, uid: 0, gid: 0, mtimeNs: 0n, size: 0}))
      continue
    }
    if (e.linkTo) {
      out(headerBlocks({...meta, name, flag: '1', size: 0, linkname: e.linkTo}))
      continue
    }
    if (e.type === 'whiteout') {
      const slash = e.path.lastIndexOf(0x2f)
      const wh = Buffer.concat([e.path.subarray(0, slash + 1), WH, e.path.subarray(slash + 1)])
      out(headerBlocks({...meta, name: wh, flag: '0', size: 0, xattrs: []}))
      continue
    }
    const header: TarHeader = {...meta, name, flag: '0', size: 0}
    if (e.type === 'symlink') out(headerBlocks({...header, flag: '2', linkname: e.target, xattrs: []}))
    else if (e.type === 'fifo') out(headerBlocks({...header, flag: '6', xattrs: []}))
    else {
      out(headerBlocks({...header, size: e.size}))
      copy(e.type === 'stub' ? objects.path(e.digest!) : abs(tree, e.path), e.size)
    }
  }
  out(endOfArchive())
  return {size, sha256: h.digest('hex'), entries: entries.length}
}

const join2 = (dir: Buffer, name: Buffer) => (dir.length ? Buffer.concat([dir, SLASH, name]) : name)

// A reader that stops early (`| head`) is the user's choice, not a bug.
function writeAll(fd: number, b: Buffer, off: number): number {
  try {
    return writeSync(fd, b, off, b.length - off)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw e
    throw environment('the reader of the tar went away before its end (broken pipe)', 'let it read the whole tar, or write to a file with --output')
  }
}

export interface LayerExport {layer: string; output: string; bytes: number; entries: number; diffId: string}

/**
 * Where a tar goes: '-' is standard output, and so is a path naming it
 * (/dev/stdout); a pipe or device at a path is a stream, written in place;
 * anything else is a file, replaced atomically (a temp file beside it,
 * renamed). The command and the namespace's process tell it alike: they
 * share standard output.
 */
export function tarTarget(output: string): {output: string; stream: boolean} {
  if (output === '-') return {output, stream: true}
  const st = statSync(output, {throwIfNoEntry: false})
  if (!st) return {output, stream: false}
  if (st.isDirectory()) throw usage(`${output} is a directory`, 'give --output the path of the tar file to write')
  const ours = fstatSync(1)
  if (st.dev === ours.dev && st.ino === ours.ino) return {output: '-', stream: true}
  return {output, stream: !st.isFile()}
}

export async function exportLayer(home: Home, ref: string, to: string): Promise<LayerExport> {
  const id = new LayerStore(home).resolve(ref)
  const {output, stream} = tarTarget(to)
  if (stream) {
    const fd = output === '-' ? 1 : openSync(output, 'w')
    try {
      const r = writeLayerTar(home, id, fd)
      return {layer: id, output, bytes: r.size, entries: r.entries, diffId: 'sha256:' + r.sha256}
    } finally {
      if (fd !== 1) closeSync(fd)
    }
  }
  if (!existsSync(dirname(output))) throw notFound(`no such directory: ${dirname(output)}`, 'create it first, or choose another output path')
  const tmp = join(dirname(output), `.${randomBytes(6).toString('hex')}.strata-tmp`)
  let fd: number
  try {
    fd = openSync(tmp, 'wx', 0o644)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EACCES') throw e
    throw usage(`cannot write in ${dirname(output)}: permission denied`, 'give --output a path in a directory you can write, or - for standard output')
  }
  try {
    const r = writeLayerTar(home, id, fd)
    closeSync(fd)
    renameSync(tmp, output)
    return {layer: id, output, bytes: r.size, entries: r.entries, diffId: 'sha256:' + r.sha256}
  } catch (e) {
    try {
      closeSync(fd)
    } catch {}
    unlinkSync(tmp)
    throw e
  }
}

export interface OciExport {
  layout: string
  tag: string
  manifest: string
  layers: {id: string; digest: string; diffId: string; size: number; mediaType: string}[] // top first
}

const goArch = () => ({x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64'})[process.arch as string] ?? process.arch

/** A stack's layers (top first) as an OCI image in dir, tagged. */
export async function exportStackOci(home: Home, stack: {name: string; layers: string[]}, dir: string, tag: string, compression: 'none' | 'gzip'): Promise<OciExport> {
  if (!/^[A-Za-z0-9._:@+-][A-Za-z0-9._:@+/-]*$/.test(tag)) throw usage(`invalid tag '${tag}'`, 'use letters, digits and . _ - : @ + /')
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw usage(`${dir} exists and is not a directory`, 'give a directory for the image layout')
  // another image's layout gains a tag; any other directory with things in it is not ours to fill
  if (existsSync(dir) && !existsSync(join(dir, 'oci-layout')) && readdirSync(dir).length > 0)
    throw usage(`${dir} is neither empty nor an OCI image layout`, 'give a new or empty directory, or an existing image layout to add a tag to')
  const blobs = join(dir, 'blobs', 'sha256')
  try {
    mkdirSync(blobs, {recursive: true})
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EACCES') throw e
    throw usage(`cannot write ${dir}: permission denied`, 'give a directory you can write')
  }
  const putBlob = (data: Buffer): Descriptor & {size: number} => {
    const d = createHash('sha256').update(data).digest('hex')
    const p = join(blobs, d)
    if (!existsSync(p)) writeAtomic(p, data, blobs, null)
    return {mediaType: '', digest: 'sha256:' + d, size: data.length}
  }
  const layers: OciExport['layers'] = []
  for (const id of [...stack.layers].reverse()) {
    const t = join(blobs, `.tmp-${randomBytes(6).toString('hex')}`)
    const fd = openSync(t, 'wx', 0o644)
    let r
    try {
      r = writeLayerTar(home, id, fd)
    } finally {
      closeSync(fd)
    }
    let digest = r.sha256
    let size = r.size
    let file = t
    if (compression === 'gzip') {
      const gz = `${t}.gz`
      const h = createHash('sha256')
      await pipeline(createReadStream(t), createGzip(), tap(h), createWriteStream(gz))
      unlinkSync(t)
      digest = h.digest('hex')
      size = statSync(gz).size
      file = gz
    }
    renameSync(file, join(blobs, digest))
    layers.push({id, digest: 'sha256:' + digest, diffId: 'sha256:' + r.sha256, size, mediaType: compression === 'gzip' ? MT.layerGzip : MT.layer})
  }
  const config = {
    created: new Date(0).toISOString(),
    architecture: goArch(),
    os: 'linux',
    config: {},
    rootfs: {type: 'layers', diff_ids: layers.map((l) => l.diffId)},
    history: layers.map((l) => ({created: new Date(0).toISOString(), created_by: `strata layer ${l.id}`})),
  }
  const configDesc = {...putBlob(Buffer.from(JSON.stringify(config))), mediaType: MT.config}
  const manifest = {
    schemaVersion: 2,
    mediaType: MT.manifest,
    config: configDesc,
    layers: layers.map((l) => ({mediaType: l.mediaType, digest: l.digest, size: l.size})),
  }
  const manifestDesc = {...putBlob(Buffer.from(JSON.stringify(manifest))), mediaType: MT.manifest, annotations: {[REF_NAME]: tag}}
  // an existing layout keeps its other images; the tag moves to this one
  const indexPath = join(dir, 'index.json')
  let index = {schemaVersion: 2, mediaType: MT.index, manifests: [] as Descriptor[]}
  if (existsSync(indexPath)) index = JSON.parse(readFileSync(indexPath, 'utf8'))
  index.manifests = index.manifests.filter((m) => m.annotations?.[REF_NAME] !== tag)
  index.manifests.push(manifestDesc)
  writeAtomic(join(dir, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}), dir, null)
  writeAtomic(indexPath, JSON.stringify(index), dir, null)
  return {layout: dir, tag, manifest: manifestDesc.digest, layers: layers.reverse()}
}

const tap = (h: Hash) =>
  new Transform({
    transform(c: Buffer, _e, cb) {
      h.update(c)
      cb(null, c)
    },
  })

export type {Entry}
