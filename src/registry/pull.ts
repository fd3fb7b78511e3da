// `strata pull`: an image from a registry into the store, layer by layer, as
// `import` of an OCI layout makes it (the tar importer is handed in by the
// caller: registry/ and import/ are siblings). Every blob streams from the
// network through its decompressor into the importer, its digest and diff id
// checked on the way; nothing is published unless they match; up to three
// layers at once; a blob the store already made a layer of is not fetched.
import {Readable} from 'node:stream'
import type {Home} from '../store/home.js'
import {ObjectStore} from '../store/objects.js'
import {StoreLock} from '../store/lock.js'
import {integrity} from '../errors.js'
import {LayerStore} from '../layer/layers.js'
import type {ImportResult, Tally} from '../layer/publish.js'
import type {LayerInfo} from '../layer/layers.js'
import {type OpenedStream, decompressStream} from '../format/decompress.js'
import type {Descriptor} from '../format/oci.js'
import {RegistryClient} from './client.js'
import {type Credentials, credentialsWhenAsked} from './auth.js'
import {type Reference, formatReference} from './reference.js'
import {ACCEPT, type ImageManifest, type Platform, checkDigest, formatPlatform, sha256, hostPlatform, layerCompression, parseManifest, pickPlatform} from './manifest.js'
import {knownBlob, rememberBlob} from './blobs.js'
import {PartialBlob, RESUME_MIN} from './partial.js'
import {StrataError} from '../errors.js'
import {layerBars} from './bars.js'
import {bytes} from '../progress.js'

/** What a failed import must undo (import/tar.ts's Undo). */
export interface Undo {objects: string[]; layers: string[]}
/** The tar importer (import/tar.ts importTarStream) and its failure path (failed), given by the caller. */
export interface Importer {
  importTar: (input: AsyncIterable<Buffer>, opts: {source: LayerInfo['source']; inlineLimit?: number; onProgress?: (t: Tally) => void; beforePublish: () => Promise<void>}, undo: Undo) => Promise<ImportResult>
  failed: (e: unknown, s: OpenedStream, home: Home, undo: Undo) => Promise<unknown>
}

export interface RemoteOptions {tlsVerify?: boolean; authfile?: string; creds?: Credentials}

export interface PullOptions extends RemoteOptions {
  platform?: Platform
  name?: string
  inlineLimit?: number
  progress?: boolean
  jobs?: number
}

export interface PullResult {
  reference: string
  manifest: string
  platform: string
  layers: (ImportResult & {blob: string; size: number; downloaded: boolean; resumedFrom?: number})[] // top first
  downloaded: {blobs: number; bytes: number}
}

export function clientFor(ref: Reference, o: RemoteOptions & {signal?: AbortSignal}): RegistryClient {
  const credentials = o.creds ?? credentialsWhenAsked(ref.registry, ref.repository, o.authfile)
  return new RegistryClient(ref.registry, {tlsVerify: o.tlsVerify !== false, credentials, signal: o.signal})
}

const MAX_JSON = 16 << 20

/** A manifest by tag or digest: its bytes checked against the digest asked for (or the one the registry names). */
async function fetchManifest(client: RegistryClient, repository: string, ref: string, what: string): Promise<{body: Buffer; digest: string; contentType: string | null}> {
  const res = await client.request(`/v2/${repository}/manifests/${ref}`, {headers: {accept: ACCEPT}, scope: `repository:${repository}:pull`})
  if (!res.ok) await client.fail(res, what)
  const body = Buffer.from(await res.arrayBuffer())
  if (body.length > MAX_JSON) throw integrity(`${what}: a manifest of ${body.length} bytes`, 'the registry is at fault')
  const claimed = res.headers.get('docker-content-digest')
  const digest = ref.includes(':') ? ref : claimed ?? sha256(body)
  checkDigest(body, digest, `the manifest of ${what}`)
  return {body, digest, contentType: res.headers.get('content-type')}
}

/** A small blob (the config) whole, checked against its digest. */
async function fetchJsonBlob<T>(client: RegistryClient, repository: string, d: Descriptor, what: string): Promise<T> {
  if (typeof d.size === 'number' && d.size > MAX_JSON) throw integrity(`${what}: a config of ${d.size} bytes`, 'the registry is at fault')
  const parts: Buffer[] = []
  for await (const c of client.blob(repository, d.digest, d.size)) parts.push(c)
  const body = Buffer.concat(parts)
  checkDigest(body, d.digest, what)
  try {
    return JSON.parse(body.toString('utf8')) as T
  } catch {
    throw integrity(`${what} is not JSON`, 'the registry is at fault')
  }
}

export async function pullImage(home: Home, ref: Reference, opts: PullOptions, importer: Importer): Promise<PullResult> {
  home.ensure()
  const abort = new AbortController()
  const client = clientFor(ref, {...opts, signal: abort.signal})
  const name = formatReference(ref)
  const inlineLimit = opts.inlineLimit ?? 64
  const want = opts.platform ?? hostPlatform()

  let top = await fetchManifest(client, ref.repository, ref.digest ?? ref.tag!, name)
  let parsed = parseManifest(top.body, top.contentType, name)
  if (parsed.kind === 'index') {
    const entry = pickPlatform(parsed.manifests, want, name)
    top = await fetchManifest(client, ref.repository, entry.digest, `${name} (${formatPlatform(want)})`)
    parsed = parseManifest(top.body, top.contentType, name)
    if (parsed.kind !== 'image') throw integrity(`${name}: the index's entry for ${formatPlatform(want)} is an index again`, 'the registry is at fault')
  }
  const manifest: ImageManifest = parsed.manifest
  const n = manifest.layers.length
  const whatLayer = (i: number) => `layer ${i + 1} of ${n} of ${name} (${manifest.layers[i].digest})`
  // refused before anything is fetched: what can't be read
  const compressions = manifest.layers.map((l, i) => layerCompression(l, whatLayer(i)))
  const config = await fetchJsonBlob<{rootfs?: {diff_ids?: string[]}; os?: string; architecture?: string; variant?: string}>(client, ref.repository, manifest.config, `the config of ${name}`)
  const diffIds = config.rootfs?.diff_ids ?? []
  if (diffIds.length !== n) throw integrity(`${name}: the config lists ${diffIds.length} diff ids for ${n} layers`, 'the image is damaged; push it again')

  const undo: Undo = {objects: [], layers: []}
  const layers = new LayerStore(home)
  const results: PullResult['layers'] = new Array(n)
  const bars = layerBars(opts.progress === true, 'pulling')
  const downloaded = {blobs: 0, bytes: 0}

  const one = async (i: number) => {
    const l = manifest.layers[i]
    const known = knownBlob(home, l.digest, inlineLimit)
    if (known) {
      results[i] = {...known, blob: l.digest, size: l.size, downloaded: false}
      return
    }
    const bar = bars.bar(l.digest.slice(7, 19), l.size)
    // a big blob's bytes are kept as they arrive, so that an interrupted pull resumes it (partial.ts)
    const partial = typeof l.size === 'number' && l.size >= RESUME_MIN ? PartialBlob.open(home.tmp, l.digest, l.size) : null
    const from = partial?.have ?? 0
    if (from) bar.add(from)
    const fetched = client.blob(ref.repository, l.digest, l.size, (k) => bar.add(k), from)
    // the network's chunks as they come, gunzip's in 64 KiB: gathering them into 1 MiB pieces made the
    // peak memory 30-40 MiB higher and was not faster (bench/RESULTS.md)
    const raw = Readable.from(partial ? partial.around(fetched) : fetched, {objectMode: false})
    const s = decompressStream(raw, compressions[i], whatLayer(i), {chunkSize: 1 << 16})
    let r: ImportResult
    try {
      r = await importer.importTar(
        s.stream,
        {
          source: {kind: 'registry', path: `${ref.registry}/${ref.repository}@${l.digest}`},
          inlineLimit,
          beforePublish: async () => {
            await s.close()
            const got = s.raw()
            if ('sha256:' + got.sha256 !== l.digest) throw integrity(`${whatLayer(i)} does not match its digest (the blob hashes to sha256:${got.sha256})`, 'the registry (or something between) altered it; pull again, and tell its operator if it persists')
            if (typeof l.size === 'number' && got.size !== l.size) throw integrity(`${whatLayer(i)} is ${got.size} bytes, the manifest says ${l.size}`, 'the image is damaged; push it again')
            if ('sha256:' + s.plain() !== diffIds[i]) throw integrity(`${whatLayer(i)} does not match the config's diff id ${diffIds[i]}`, 'the image is damaged; push it again')
          },
        },
        undo,
      )
    } catch (e) {
      const cause = await importer.failed(e, s, home, {objects: [], layers: []})
      // what the network or the machine cut short is kept for the next pull; bytes that failed a check are not
      if (cause instanceof StrataError && cause.code === 'environment') partial?.keep()
      else {
        partial?.discard()
        if (from && cause instanceof StrataError) throw new StrataError(cause.code, `${cause.message} (resumed from ${bytes(from)} an interrupted pull kept; those are dropped now)`, 'pull again: the blob is fetched whole')
      }
      throw cause
    }
    if (!r.existing) undo.layers.push(r.layer.id)
    // recorded at once: a pull killed later resumes after this layer
    rememberBlob(home, l.digest, r.layer.id, inlineLimit)
    partial?.discard()
    downloaded.blobs++
    downloaded.bytes += s.raw().size - from
    bar.finish(`${bytes(s.raw().size - from)} ${from ? `fetched, ${bytes(from)} kept from before` : 'done'}`)
    results[i] = {...r, blob: l.digest, size: l.size, downloaded: true, ...(from ? {resumedFrom: from} : {})}
  }

  try {
    await runLimited(n, opts.jobs ?? 3, one, abort)
    bars.done()
    const ids = results.map((r) => r.layer.id)
    const movedFrom = opts.name ? layers.addName(ids[n - 1], opts.name) ?? null : null
    const out = results.map((r) => ({...r, layer: layers.get(r.layer.id), nameMovedFrom: null as string | null})).reverse()
    if (out.length) out[0].nameMovedFrom = movedFrom
    return {reference: name, manifest: top.digest, platform: formatPlatform({os: config.os ?? want.os, architecture: config.architecture ?? want.architecture, ...(config.variant ? {variant: config.variant} : {})}), layers: out, downloaded}
  } catch (e) {
    bars.done()
    // nothing of a failed pull stays: its new layers, then their objects (as a failed import)
    if (StoreLock.mayUndo(home)) {
      for (const id of undo.layers) if (layers.has(id)) layers.remove(id, () => [])
      new ObjectStore(home.objects, home.tmp).rollback(undo.objects, home)
    }
    throw e
  }
}

/** Runs work(0..n-1), at most `jobs` at once; the first failure aborts the rest, and is thrown once all have stopped. */
async function runLimited(n: number, jobs: number, work: (i: number) => Promise<void>, abort: AbortController): Promise<void> {
  let next = 0
  let first: unknown
  const worker = async () => {
    while (next < n && first === undefined) {
      const i = next++
      try {
        await work(i)
      } catch (e) {
        if (first === undefined) {
          first = e
          abort.abort(e)
        }
      }
    }
  }
  await Promise.all(Array.from({length: Math.min(jobs, n)}, worker))
  if (first !== undefined) throw first
}
