// Manifests as registries serve them: OCI and Docker schema-2 image
// manifests, OCI indexes and Docker manifest lists (one image per platform).
// Schema 1 (deprecated since 2017, signed JWS) is refused by name.
import {createHash} from 'node:crypto'
import {integrity, notFound, usage} from '../errors.js'
import {MT, type Descriptor} from '../format/oci.js'
import type {Compression} from '../format/decompress.js'

export const DOCKER = {
  manifest: MT.dockerManifest,
  list: MT.dockerList,
  config: 'application/vnd.docker.container.image.v1+json',
  layerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  layer: 'application/vnd.docker.image.rootfs.diff.tar',
  foreign: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  schema1: 'application/vnd.docker.distribution.manifest.v1+json',
  schema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
}

/** What a pull accepts, best first. */
export const ACCEPT = [MT.index, MT.manifest, DOCKER.list, DOCKER.manifest].join(', ')

export interface ImageManifest {mediaType: string; config: Descriptor; layers: (Descriptor & {urls?: string[]})[]}
export interface Platform {os: string; architecture: string; variant?: string}
type IndexEntry = Descriptor & {platform?: Platform & {'os.version'?: string}}

export const goArch = () => ({x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64'})[process.arch as string] ?? process.arch

/** This machine's platform, as OCI names it. */
export function hostPlatform(): Platform {
  const architecture = goArch()
  return {os: 'linux', architecture, ...(architecture === 'arm64' ? {variant: 'v8'} : {})}
}

/** --platform os/arch[/variant] */
export function parsePlatform(s: string): Platform {
  const [os, architecture, variant, more] = s.split('/')
  if (!os || !architecture || more !== undefined) throw usage(`invalid platform '${s}'`, 'write it as OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64/v8')
  return {os, architecture, ...(variant ? {variant} : {})}
}

export const formatPlatform = (p: Platform) => `${p.os}/${p.architecture}${p.variant ? '/' + p.variant : ''}`

export const sha256 = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex')

/** The bytes a registry sent checked against the digest they were asked by (or that it claimed). */
export function checkDigest(body: Buffer, want: string, what: string) {
  const algo = want.slice(0, want.indexOf(':'))
  const got = algo === 'sha512' ? 'sha512:' + createHash('sha512').update(body).digest('hex') : sha256(body)
  if (got !== want) throw integrity(`${what} does not match its digest ${want} (it hashes to ${got})`, 'the registry (or something between) altered it; pull again, and tell the registry\'s operator if it persists')
}

export type Parsed = {kind: 'index'; manifests: IndexEntry[]} | {kind: 'image'; manifest: ImageManifest}

/** A manifest body by its Content-Type (or its own mediaType field). */
export function parseManifest(body: Buffer, contentType: string | null, what: string): Parsed {
  let j: {schemaVersion?: number; mediaType?: string; manifests?: IndexEntry[]; config?: Descriptor; layers?: ImageManifest['layers']; fsLayers?: unknown}
  try {
    j = JSON.parse(body.toString('utf8'))
  } catch {
    throw integrity(`${what}: the manifest is not JSON`, 'the registry is at fault; tell its operator')
  }
  const ct = (contentType ?? '').split(';')[0].trim()
  const mt = j.mediaType ?? (ct && ct !== 'application/json' && ct !== 'text/plain' ? ct : '')
  if (j.schemaVersion === 1 || mt === DOCKER.schema1 || mt === DOCKER.schema1Signed || ct === DOCKER.schema1Signed || ct === DOCKER.schema1)
    throw usage(`${what} is a Docker schema 1 manifest (${ct || DOCKER.schema1}), which strata doesn't read (deprecated since 2017)`, 'convert it: `skopeo copy --format v2s2 docker://… docker://…`, or push it again with a current tool')
  if (mt === MT.index || mt === DOCKER.list || (!mt && Array.isArray(j.manifests))) {
    if (!Array.isArray(j.manifests)) throw integrity(`${what}: the index lists no manifests`, 'the registry is at fault')
    return {kind: 'index', manifests: j.manifests}
  }
  if (mt === MT.manifest || mt === DOCKER.manifest || (!mt && j.config && Array.isArray(j.layers))) {
    if (!j.config || !Array.isArray(j.layers)) throw integrity(`${what}: the manifest has no config or layers`, 'the registry is at fault')
    return {kind: 'image', manifest: {mediaType: mt || MT.manifest, config: j.config, layers: j.layers}}
  }
  throw usage(`${what} has the media type '${mt || ct || 'none'}', which is not an image`, 'strata pulls OCI and Docker schema-2 images (manifests, indexes and manifest lists)')
}

/** The index's entry for the platform: os and architecture equal, variant equal when asked (arm64's v8 is its default). */
export function pickPlatform(manifests: IndexEntry[], want: Platform, what: string): IndexEntry {
  const variant = (p: Platform) => p.variant ?? (p.architecture === 'arm64' ? 'v8' : undefined)
  const fits = manifests.filter((m) => m.platform && m.platform.os === want.os && m.platform.architecture === want.architecture)
  const exact = fits.filter((m) => !want.variant || variant(m.platform!) === variant(want))
  const hit = exact[0] ?? (want.variant ? undefined : fits[0])
  if (!hit) {
    const have = manifests.filter((m) => m.platform).map((m) => formatPlatform(m.platform!))
    throw notFound(`${what} has no image for ${formatPlatform(want)} (it has: ${have.join(', ') || 'none'})`, 'choose one with --platform OS/ARCH[/VARIANT]')
  }
  return hit
}

const NONDISTRIBUTABLE = /^application\/vnd\.oci\.image\.layer\.nondistributable\.v1\.tar/

/** How a layer blob is compressed, by its media type; foreign and unknown ones refused by name. */
export function layerCompression(l: ImageManifest['layers'][number], what: string): Compression {
  const mt = l.mediaType
  if (mt === MT.layer || mt === DOCKER.layer) return 'none'
  if (mt === MT.layerGzip || mt === DOCKER.layerGzip) return 'gzip'
  if (mt === MT.layerZstd) return 'zstd'
  if (mt === DOCKER.foreign || NONDISTRIBUTABLE.test(mt) || l.urls?.length)
    throw usage(`${what} is a foreign (non-distributable) layer (${mt}), which strata doesn't fetch from outside the registry`, 'such layers belong to Windows images; pull a Linux image, or copy it with skopeo first')
  throw usage(`${what} has the unknown media type '${mt}'`, 'strata reads tar, tar+gzip and tar+zstd layers (OCI and Docker)')
}
