// Imports an image *archive*: an OCI archive (a tar of an OCI layout: podman
// save --format oci-archive, skopeo's oci-archive:, Docker ≥ 25's docker save)
// or a docker-archive (manifest.json + config + layer tars: podman save,
// skopeo's docker-archive:). The archive's files (blobs, not a layer tree) are
// unpacked into a staging directory under tmp/; a docker-archive is rewritten
// there as an OCI layout (hardlinks, no copies); importOci then does the rest:
// digests and diff ids checked, layers published, undone on failure.
import {closeSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync} from 'node:fs'
import {dirname, join, posix} from 'node:path'
import {createHash} from 'node:crypto'
import {fileSha256} from '../store/digest.js'
import type {Home} from '../store/home.js'
import {discard, stagingDir} from '../store/fsutil.js'
import {StrataError, integrity, notFound, usage} from '../errors.js'
import {type Compression, compressionOf, openArchive, sniffFormat} from './archive.js'
import {ByteSource, TarFormatError, readTar} from '../format/tar-reader.js'
import {normalizeName, shown} from './tar.js'
import {importOci, type OciImportOptions, type OciImportResult} from './oci.js'
import {MT, REF_NAME} from '../format/oci.js'

const HINT = 'the image archive is damaged or incomplete; save or copy it again'

interface DockerImage {Config?: string; RepoTags?: string[] | null; Layers?: string[]}

export async function importImageArchive(home: Home, path: string, kind: 'oci-archive' | 'docker-archive', opts: OciImportOptions): Promise<OciImportResult> {
  home.ensure()
  const staging = stagingDir(home.tmp, 'archive')
  try {
    await unpack(path, compressionOf(sniffFormat(path)), staging)
    if (kind === 'oci-archive') {
      if (!existsSync(join(staging, 'oci-layout')) || !existsSync(join(staging, 'index.json')))
        throw usage(`${path} is not an OCI archive: it has no oci-layout and index.json`, 'pass the right --format, or none')
      return await importOci(home, staging, {...opts, origin: path})
    }
    const {tag, configDigest, layers} = await dockerToLayout(path, staging, opts.ref)
    try {
      const r = await importOci(home, staging, {...opts, ref: undefined, origin: path})
      return {...r, image: {layout: path, manifest: configDigest, tag}}
    } catch (e) {
      // a damaged layer may fail as a tar before its diff id is checked: say what it is
      if (e instanceof StrataError && e.code === 'integrity') throw e
      for (const l of layers) {
        if (!l.diffId) continue
        const got = await plainSha256(l.file, l.compression)
        if (got !== l.diffId) throw integrity(`${path}: layer ${l.index} (${l.name}) does not match the config's diff id ${l.diffId} (it hashes to ${got})`, HINT)
      }
      throw e
    }
  } catch (e) {
    if (e instanceof StrataError && e.message.includes(staging)) throw new StrataError(e.code, e.message.split(staging).join(path), e.hint)
    throw e
  } finally {
    discard(staging)
  }
}

/** Writes the archive's regular files under dir; links (docker save's shared layers) become hardlinks within dir. */
async function unpack(path: string, compression: Compression, dir: string): Promise<void> {
  const s = openArchive(path, compression, {digests: false})
  const symlinks: [string, string][] = []
  const made = new Set<string>()
  const place = (rel: string) => {
    const p = join(dir, rel)
    mkdirSync(dirname(p), {recursive: true})
    return p
  }
  try {
    await readTar(new ByteSource(s.stream), async (e, data) => {
      const rel = normalizeName(e.name, 'archive entry').toString('utf8')
      if (!rel || e.type === 'dir') return
      if (made.has(rel)) throw usage(`${path}: the entry '${shown(e.name)}' appears twice`, HINT)
      if (e.type === 'file') {
        const p = place(rel)
        const fd = openSync(p, 'wx', 0o600)
        try {
          for await (const c of data()) writeSync(fd, c)
        } catch (err) {
          // node names no file when a write fails (a full disk): this one
          if ((err as NodeJS.ErrnoException).code && !(err as NodeJS.ErrnoException).path) (err as NodeJS.ErrnoException).path = p
          throw err
        } finally {
          closeSync(fd)
        }
        made.add(rel)
      } else if (e.type === 'hardlink' || e.type === 'symlink') {
        const target = e.type === 'hardlink' ? e.linkname.toString('utf8') : posix.join(posix.dirname(rel), e.linkname.toString('utf8'))
        symlinks.push([rel, normalizeName(Buffer.from(posix.normalize(target)), 'link target').toString('utf8')])
      }
    })
    await s.close()
  } catch (e) {
    s.destroy()
    await s.close().catch(() => {})
    if (e instanceof TarFormatError) throw usage(`${path}: ${e.message}`, HINT)
    throw e
  }
  // links in archive order; a link to a link resolves once its target exists
  for (let round = 0; symlinks.length && round < 8; round++)
    for (let i = 0; i < symlinks.length; ) {
      const [rel, target] = symlinks[i]
      if (made.has(target) && !made.has(rel)) {
        linkSync(join(dir, target), place(rel))
        made.add(rel)
        symlinks.splice(i, 1)
      } else if (made.has(rel)) symlinks.splice(i, 1)
      else i++
    }
}

const sha256 = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex')
/** A digest an archive name carries: blobs/sha256/HEX, HEX.json, HEX.tar, HEX/layer.tar. */
const digestInName = (name: string) => {
  const m = /^(?:blobs\/sha256\/)?([0-9a-f]{64})(?:\.json|\.tar|\/layer\.tar)?$/.exec(name)
  return m ? 'sha256:' + m[1] : undefined
}

interface StagedLayer {index: string; name: string; file: string; compression: Compression; diffId?: string}

/** Picks the image (by RepoTag), checks its config, and lays it out as an OCI layout in dir. */
async function dockerToLayout(path: string, dir: string, ref?: string): Promise<{tag: string | null; configDigest: string; layers: StagedLayer[]}> {
  let images: DockerImage[]
  if (!existsSync(join(dir, 'manifest.json'))) throw usage(`${path} is not a docker-archive: it has no manifest.json`, 'pass the right --format, or none')
  try {
    images = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'))
  } catch (e) {
    throw usage(`${path}: manifest.json: ${(e as Error).message}`, HINT)
  }
  if (!Array.isArray(images) || images.length === 0) throw usage(`${path}: manifest.json lists no images`, HINT)
  const tags = images.flatMap((i) => i.RepoTags ?? [])
  const list = () => tags.join(', ') || 'no tags'
  let image: DockerImage
  let tag: string | null = null
  if (ref) {
    // exact, or without the registry (localhost/x:1 as x:1), or only the tag
    const matches = (t: string) => t === ref || t.endsWith('/' + ref) || (!/[:/]/.test(ref) && t.slice(t.lastIndexOf(':') + 1) === ref)
    const hit = images.find((i) => (i.RepoTags ?? []).some(matches))
    if (!hit) throw notFound(`${path} has no image '${ref}' (it has: ${list()})`, 'name one of them as FILE:NAME:TAG')
    image = hit
    tag = hit.RepoTags!.find(matches)!
  } else {
    if (images.length > 1) throw usage(`${path} holds ${images.length} images: ${list()}`, 'name one as FILE:NAME:TAG')
    image = images[0]
    tag = image.RepoTags?.[0] ?? null
  }
  if (typeof image.Config !== 'string' || !Array.isArray(image.Layers)) throw usage(`${path}: manifest.json names no Config or Layers`, HINT)
  const file = (name: string, what: string) => {
    const p = join(dir, normalizeName(Buffer.from(name), what).toString('utf8'))
    if (!existsSync(p)) throw integrity(`${path}: the ${what} '${name}' is missing`, HINT)
    return p
  }
  const configBytes = readFileSync(file(image.Config, 'config'))
  const configDigest = sha256(configBytes)
  const named = digestInName(image.Config)
  if (named && named !== configDigest) throw integrity(`${path}: the config ${image.Config} does not match its digest (it hashes to ${configDigest})`, HINT)
  let config: {rootfs?: {diff_ids?: string[]}}
  try {
    config = JSON.parse(configBytes.toString('utf8'))
  } catch {
    throw integrity(`${path}: the config ${image.Config} is not JSON`, HINT)
  }
  const diffIds = config.rootfs?.diff_ids ?? []
  if (diffIds.length !== image.Layers.length) throw integrity(`${path}: the config lists ${diffIds.length} diff ids for ${image.Layers.length} layers`, HINT)

  const blobs = join(dir, 'blobs', 'sha256')
  mkdirSync(blobs, {recursive: true})
  const put = (p: string, digest: string) => {
    const to = join(blobs, digest.slice('sha256:'.length))
    if (!existsSync(to)) linkSync(p, to)
  }
  put(file(image.Config, 'config'), configDigest)
  const staged: StagedLayer[] = []
  const descriptors = []
  for (const [i, name] of image.Layers.entries()) {
    const index = `${i + 1} of ${image.Layers!.length}`
    const p = file(name, `layer ${index}`)
    let compression: Compression
    try {
      compression = compressionOf(sniffFormat(p))
    } catch {
      throw integrity(`${path}: layer ${index} (${name}) is not a tar, gzip or zstd file`, HINT)
    }
    const {hex, size} = fileSha256(p)
    const digest = 'sha256:' + hex
    const inName = name.startsWith('blobs/') ? digestInName(name) : undefined
    if (inName && inName !== digest) throw integrity(`${path}: layer ${index} (${name}) does not match its digest (it hashes to ${digest})`, HINT)
    put(p, digest)
    staged.push({index, name, file: p, compression, diffId: diffIds[i]})
    descriptors.push({mediaType: compression === 'gzip' ? MT.layerGzip : compression === 'zstd' ? MT.layerZstd : MT.layer, digest, size})
  }
  const manifest = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: MT.manifest, config: {mediaType: MT.config, digest: configDigest, size: configBytes.length}, layers: descriptors}))
  const manifestDigest = sha256(manifest)
  writeFileSync(join(blobs, manifestDigest.slice('sha256:'.length)), manifest)
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}))
  const desc = {mediaType: MT.manifest, digest: manifestDigest, size: manifest.length, ...(tag ? {annotations: {[REF_NAME]: tag}} : {})}
  writeFileSync(join(dir, 'index.json'), JSON.stringify({schemaVersion: 2, manifests: [desc]}))
  return {tag, configDigest, layers: staged}
}

async function plainSha256(p: string, compression: Compression): Promise<string> {
  const s = openArchive(p, compression)
  try {
    for await (const _ of s.stream);
    await s.close()
    return 'sha256:' + s.plain()
  } catch {
    return 'unreadable (a corrupt compressed stream)'
  } finally {
    s.destroy()
  }
}

