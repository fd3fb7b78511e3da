// `strata push`: layers (bottom to top) as tar blobs, an OCI image config
// (rootfs.diff_ids, history) and manifest. A layer's tar is the one `layer
// export` writes (handed in by the caller: registry/ and export/ are
// siblings), compressed with fixed settings, so the same layer always gives
// the same blob; a blob the registry has is skipped after a HEAD, one of
// another repository there is mounted, and only the rest is uploaded.
import {closeSync, createReadStream, createWriteStream, openSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {createHash, type Hash} from 'node:crypto'
import {Readable, Transform} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {createGzip, constants as zc} from 'node:zlib'
import type {Home} from '../store/home.js'
import {removeTree} from '../store/fsutil.js'
import {stagingDir} from '../store/staging.js'
import {environment} from '../errors.js'
import {spawnStream} from '../exec.js'
import {LayerStore} from '../layer/layers.js'
import {MT} from '../format/oci.js'
import {type Reference, formatReference} from './reference.js'
import {goArch, sha256} from './manifest.js'
import {type PushedBlob, pushedBlob, rememberPush} from './blobs.js'
import {type RemoteOptions, clientFor} from './pull.js'
import type {RegistryClient} from './client.js'
import {layerBars} from './bars.js'
import {bytes} from '../progress.js'

export type PushCompression = 'gzip' | 'zstd'
/** export/export.ts writeLayerTar, given by the caller. */
export type WriteLayerTar = (home: Home, id: string, fd: number) => {size: number; sha256: string}

export interface PushOptions extends RemoteOptions {compression?: PushCompression; progress?: boolean}

export interface PushResult {
  reference: string
  manifest: string
  config: string
  layers: {id: string; digest: string; diffId: string; size: number; mediaType: string; action: 'uploaded' | 'exists' | 'mounted'}[] // top first
  uploaded: {blobs: number; bytes: number}
}

// fixed, so that a layer's blob is always the same bytes (for this zlib, this zstd)
const GZIP = {level: 6, memLevel: 8, windowBits: 15, strategy: zc.Z_DEFAULT_STRATEGY}
const ZSTD = ['-q', '-c', '-3', '--no-progress', '-T1']
const MEDIA = {gzip: MT.layerGzip, zstd: MT.layerZstd}

const tap = (h: Hash) =>
  new Transform({
    transform(c: Buffer, _e, cb) {
      h.update(c)
      cb(null, c)
    },
  })

/** The layer's tar (its diff id) and the compressed blob beside it, in dir. */
async function makeBlob(home: Home, id: string, compression: PushCompression, dir: string, writeTar: WriteLayerTar): Promise<{file: string; digest: string; size: number; diffId: string}> {
  const tar = join(dir, `${id}.tar`)
  const fd = openSync(tar, 'wx', 0o600)
  let t
  try {
    t = writeTar(home, id, fd)
  } finally {
    closeSync(fd)
  }
  const file = `${tar}.${compression === 'gzip' ? 'gz' : 'zst'}`
  const h = createHash('sha256')
  if (compression === 'gzip') await pipeline(createReadStream(tar, {highWaterMark: 1 << 20}), createGzip(GZIP), tap(h), createWriteStream(file))
  else {
    const z = spawnStream('zstd', ZSTD)
    await Promise.all([pipeline(createReadStream(tar, {highWaterMark: 1 << 20}), z.stdin), pipeline(z.stdout, tap(h), createWriteStream(file))])
    const r = await z.done
    if (r.exitCode !== 0) throw environment(`zstd failed compressing layer ${id.slice(0, 12)}: ${r.stderr.trim() || r.exitCode}`, 'is the zstd program installed? (apt install zstd)')
  }
  removeTree(tar)
  return {file, digest: 'sha256:' + h.digest('hex'), size: statSync(file).size, diffId: 'sha256:' + t.sha256}
}

export async function pushImage(home: Home, layerIds: string[], ref: Reference, opts: PushOptions, writeTar: WriteLayerTar): Promise<PushResult> {
  home.ensure()
  const compression = opts.compression ?? 'gzip'
  const client = clientFor(ref, opts)
  const repo = ref.repository
  const here = `${ref.registry}/${repo}`
  const store = new LayerStore(home)
  const bottomUp = [...layerIds].reverse()
  const staging = stagingDir(home.tmp, 'push')
  const bars = layerBars(opts.progress === true, 'pushing')
  const uploaded = {blobs: 0, bytes: 0}
  try {
    const layers: PushResult['layers'] = []
    // the same registry may have the blob under another repository: mount it from there
    const mountFrom = async (b: PushedBlob) => {
      for (const r of b.repos) {
        if (r === here || !r.startsWith(ref.registry + '/')) continue
        if (await client.mountBlob(repo, b.digest, r.slice(ref.registry.length + 1))) return true
      }
      return false
    }
    for (const id of bottomUp) {
      const info = store.get(id)
      let blob = pushedBlob(home, id, compression)
      let action: PushResult['layers'][number]['action'] | undefined
      if (blob && (await client.hasBlob(repo, blob.digest))) action = 'exists'
      else if (blob && (await mountFrom(blob))) action = 'mounted'
      else {
        const bar = bars.bar(id.slice(0, 12))
        const made = await makeBlob(home, id, compression, staging, writeTar)
        blob = {digest: made.digest, size: made.size, diffId: made.diffId, mediaType: MEDIA[compression], repos: blob?.repos ?? []}
        if (await client.hasBlob(repo, blob.digest)) action = 'exists'
        else if (await mountFrom(blob)) action = 'mounted'
        else {
          await client.uploadBlob(repo, blob.digest, blob.size, () => countBytes(createReadStream(made.file, {highWaterMark: 1 << 20}), (n) => bar.add(n)))
          action = 'uploaded'
          uploaded.blobs++
          uploaded.bytes += blob.size
        }
        bar.finish(`${bytes(blob.size)} ${action}`)
        removeTree(made.file)
      }
      if (!blob.repos.includes(here)) blob.repos = [...blob.repos, here]
      rememberPush(home, id, compression, blob, info.inlineLimit)
      layers.push({id, digest: blob.digest, diffId: blob.diffId, size: blob.size, mediaType: blob.mediaType, action})
    }
    bars.done()

    const epoch = new Date(0).toISOString()
    const config = Buffer.from(JSON.stringify({
      created: epoch,
      architecture: goArch(),
      os: 'linux',
      config: {},
      rootfs: {type: 'layers', diff_ids: layers.map((l) => l.diffId)},
      history: layers.map((l) => ({created: epoch, created_by: `strata layer ${l.id}`})),
    }))
    const configDigest = sha256(config)
    if (!(await client.hasBlob(repo, configDigest))) {
      await client.uploadBlob(repo, configDigest, config.length, () => Readable.from([config]))
      uploaded.blobs++
      uploaded.bytes += config.length
    }
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.manifest,
      config: {mediaType: MT.config, digest: configDigest, size: config.length},
      layers: layers.map((l) => ({mediaType: l.mediaType, digest: l.digest, size: l.size})),
    }))
    const digest = sha256(manifest)
    await putManifest(client, repo, ref.tag ?? 'latest', manifest, digest)
    return {reference: formatReference({...ref, digest: null}), manifest: digest, config: configDigest, layers: layers.reverse(), uploaded}
  } finally {
    bars.done()
    removeTree(staging)
  }
}

async function putManifest(client: RegistryClient, repo: string, tag: string, manifest: Buffer, digest: string) {
  const said = await client.putManifest(repo, tag, MT.manifest, manifest)
  if (said && said !== digest) throw environment(`the registry ${client.registry} stored the manifest as ${said}, not ${digest}`, 'the registry rewrote the manifest; tell its operator')
}

function countBytes(r: Readable, on: (n: number) => void): Readable {
  const t = new Transform({
    transform(c: Buffer, _e, cb) {
      on(c.length)
      cb(null, c)
    },
  })
  r.on('error', (e) => t.destroy(e))
  return r.pipe(t)
}
