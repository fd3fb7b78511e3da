// Imports an OCI image layout: index.json → manifest → layers, one strata
// layer per image layer (so images sharing base layers share them in the
// store), every blob's digest and every layer's diff id checked while it
// streams. OCI whiteouts become overlay whiteouts and opaque directories in
// the tar reader; composition applies them to the layers below.
import type {StubForm} from '../format/stub.js'
import {existsSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {createHash} from 'node:crypto'
import {fileSha256} from '../store/digest.js'
import type {Home} from '../store/home.js'
import {StoreLock} from '../store/lock.js'
import {ObjectStore} from '../store/objects.js'
import {integrity, usage, notFound} from '../errors.js'
import {type Compression, openArchive} from './archive.js'
import {type Undo, importTarStream, failed} from './tar.js'
import type {ImportResult, Tally} from '../layer/publish.js'
import {LayerStore} from '../layer/layers.js'
import {DEFAULT_INLINE_LIMIT} from './dir.js'
import {MT, REF_NAME, type Descriptor} from '../format/oci.js'

export interface OciImportResult {
  image: {layout: string; manifest: string; tag: string | null}
  layers: ImportResult[] // top first, as stacks list them
}

const LAYOUT_HINT = 'the image layout is damaged or incomplete; copy it again (e.g. `skopeo copy`)'

export {splitLayoutRef} from '../format/oci.js'

export function blobPath(dir: string, digest: string): string {
  const m = /^(sha256|sha512):([0-9a-f]{64,128})$/.exec(digest)
  if (!m) throw integrity(`${dir}: malformed digest '${digest}'`, LAYOUT_HINT)
  return join(dir, 'blobs', m[1], m[2])
}

/** A small JSON blob, read whole and checked against its digest. */
export function readJsonBlob<T>(dir: string, d: Descriptor, what: string): T {
  const p = blobPath(dir, d.digest)
  if (!existsSync(p)) throw integrity(`${dir}: the ${what} blob ${d.digest} is missing`, LAYOUT_HINT)
  const data = readFileSync(p)
  const got = 'sha256:' + createHash('sha256').update(data).digest('hex')
  if (got !== d.digest) throw integrity(`${dir}: the ${what} blob ${d.digest} does not match its digest (it hashes to ${got})`, LAYOUT_HINT)
  try {
    return JSON.parse(data.toString('utf8')) as T
  } catch {
    throw integrity(`${dir}: the ${what} blob ${d.digest} is not JSON`, LAYOUT_HINT)
  }
}

function readIndex(dir: string): {manifests: Descriptor[]} {
  let idx
  try {
    idx = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'))
  } catch (e) {
    throw usage(`${dir}/index.json: ${(e as Error).message}`, LAYOUT_HINT)
  }
  if (!Array.isArray(idx.manifests)) throw usage(`${dir}/index.json has no manifests`, LAYOUT_HINT)
  return idx
}

/** The image manifests an index names (nested indexes flattened), with their tags. */
function images(dir: string, manifests: Descriptor[], tag?: string): {desc: Descriptor; tag: string | null}[] {
  const out: {desc: Descriptor; tag: string | null}[] = []
  for (const d of manifests) {
    const t = d.annotations?.[REF_NAME] ?? tag ?? null
    if (d.mediaType === MT.index || d.mediaType === MT.dockerList) {
      const nested = readJsonBlob<{manifests: Descriptor[]}>(dir, d, 'index')
      // a multi-platform index: keep this machine's platform
      const mine = nested.manifests.filter((m) => !m.platform || (m.platform.os === 'linux' && m.platform.architecture === goArch()))
      out.push(...images(dir, mine, t ?? undefined))
    } else out.push({desc: d, tag: t})
  }
  return out
}

const goArch = () => ({x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64'})[process.arch as string] ?? process.arch

export function pickImage(dir: string, ref?: string): {desc: Descriptor; tag: string | null} {
  const all = images(dir, readIndex(dir).manifests)
  const list = () => all.map((i) => i.tag ?? i.desc.digest).join(', ')
  if (ref) {
    const hit = all.filter((i) => i.tag === ref || i.desc.digest === ref || (ref.length >= 12 && i.desc.digest.startsWith('sha256:' + ref)))
    if (hit.length === 0) throw notFound(`${dir} has no image '${ref}' (it has: ${list() || 'none'})`, 'name one of them as DIR:TAG or DIR@DIGEST')
    return hit[0]
  }
  if (all.length === 1) return all[0]
  if (all.length === 0) throw usage(`${dir} holds no images`, LAYOUT_HINT)
  throw usage(`${dir} holds ${all.length} images: ${list()}`, 'name one as DIR:TAG or DIR@DIGEST')
}

function compressionOfMediaType(dir: string, mt: string): Compression {
  if (mt === MT.layer || mt === 'application/vnd.docker.image.rootfs.diff.tar') return 'none'
  if (mt === MT.layerGzip || mt === 'application/vnd.docker.image.rootfs.diff.tar.gzip') return 'gzip'
  if (mt === MT.layerZstd) return 'zstd'
  throw usage(`${dir}: unsupported layer media type '${mt}'`, 'strata reads tar, tar+gzip and tar+zstd layers')
}

export interface OciImportOptions {
  ref?: string
  name?: string
  inlineLimit?: number
  stubs?: StubForm
  onProgress?: (t: Tally) => void
  /** What the layout came from, if it was unpacked from an archive into a staging dir: recorded instead of dir. */
  origin?: string
}

export async function importOci(home: Home, dir: string, opts: OciImportOptions): Promise<OciImportResult> {
  home.ensure()
  const {desc, tag} = pickImage(dir, opts.ref)
  const manifest = readJsonBlob<{layers?: Descriptor[]; config?: Descriptor}>(dir, desc, 'manifest')
  if (!Array.isArray(manifest.layers) || !manifest.config) throw integrity(`${dir}: manifest ${desc.digest} has no layers or config`, LAYOUT_HINT)
  const config = readJsonBlob<{rootfs?: {diff_ids?: string[]}}>(dir, manifest.config, 'config')
  const diffIds = config.rootfs?.diff_ids ?? []
  if (diffIds.length && diffIds.length !== manifest.layers.length)
    throw integrity(`${dir}: the config lists ${diffIds.length} diff ids for ${manifest.layers.length} layers`, LAYOUT_HINT)
  // every blob is there before anything is imported
  manifest.layers.forEach((l, i) => {
    const p = blobPath(dir, l.digest)
    if (!existsSync(p)) throw integrity(`${dir}: layer ${i + 1} of ${manifest.layers!.length} (${l.digest}) is missing its blob`, LAYOUT_HINT)
    compressionOfMediaType(dir, l.mediaType)
  })

  const undo: Undo = {objects: [], layers: []}
  const results: ImportResult[] = []
  const layers = new LayerStore(home)
  const objects = new ObjectStore(home.objects, home.tmp)
  try {
    for (const [i, l] of manifest.layers.entries()) {
      const p = blobPath(dir, l.digest)
      // a blob the store made a layer of before, as podman skips a blob it has: not read again
      // (sized as the manifest says; a layer missing objects is imported again, which restores them)
      const known = layers.fromBlob(opts.inlineLimit ?? DEFAULT_INLINE_LIMIT, l.digest)
      if (known && (typeof l.size !== 'number' || statSync(p).size === l.size) && layers.whole(known, objects)) {
        results.push({layer: layers.get(known), existing: true, nameMovedFrom: null})
        continue
      }
      const s = openArchive(p, compressionOfMediaType(dir, l.mediaType))
      const what = `layer ${i + 1} of ${manifest.layers.length} (${l.digest})`
      try {
        const r = await importTarStream(
          home,
          s.stream,
          {
            inlineLimit: opts.inlineLimit,
            stubs: opts.stubs,
            onProgress: opts.onProgress,
            source: {kind: 'oci', path: `${opts.origin ?? dir}@${l.digest}`},
            beforePublish: async () => {
              await s.close()
              const raw = s.raw()
              if ('sha256:' + raw.sha256 !== l.digest) throw integrity(`${dir}: ${what} does not match its digest (the blob hashes to sha256:${raw.sha256})`, LAYOUT_HINT)
              if (typeof l.size === 'number' && raw.size !== l.size) throw integrity(`${dir}: ${what} is ${raw.size} bytes, the manifest says ${l.size}`, LAYOUT_HINT)
              if (diffIds[i] && 'sha256:' + s.plain() !== diffIds[i]) throw integrity(`${dir}: ${what} does not match the config's diff id ${diffIds[i]}`, LAYOUT_HINT)
            },
          },
          undo,
        )
        if (!r.existing) undo.layers.push(r.layer.id)
        results.push(r)
      } catch (e) {
        const err = await failed(e, s, home, {objects: [], layers: []})
        // a damaged blob often fails as a stream first: say what it is
        const got = fileSha256(p).hex
        if ('sha256:' + got !== l.digest) throw integrity(`${dir}: ${what} does not match its digest (the blob hashes to sha256:${got})`, LAYOUT_HINT)
        throw err
      }
    }
    const ids = results.map((r) => r.layer.id).reverse()
    if (opts.name) layers.addName(ids[0], opts.name)
    const top = results.map((r) => ({...r, layer: layers.get(r.layer.id)})).reverse()
    return {image: {layout: opts.origin ?? dir, manifest: desc.digest, tag}, layers: top}
  } catch (e) {
    // nothing of a failed image stays: its new layers, then their objects
    // (unless another command is adding to the store: it may share them; gc will tell)
    if (StoreLock.mayUndo(home)) {
      for (const id of undo.layers)
        try {
          if (layers.has(id)) layers.remove(id, () => [])
        } catch {} // a layer another command reads now stays, whole: the first cause is what we report
      objects.rollback(undo.objects, home)
    }
    throw e
  }
}
