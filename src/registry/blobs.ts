// What the store knows of registry blobs, so that nothing is fetched or
// uploaded twice: a blob's digest → the layer it became (written by pull, and
// by push for the blobs it made), and a layer → the blob push made of it
// (digest, size, diff id) and the repositories that have it (for mounts).
// Kept as digest-cache records (cache/digests/): gc drops them with their
// layer, and a lookup trusts them only while the store has the layer whole.
import type {Home} from '../store/home.js'
import {DigestCache} from '../store/digest-cache.js'
import {LayerStore} from '../layer/layers.js'
import {type ImportResult, unchangedSince} from '../layer/publish.js'

const blobSettings = (inlineLimit: number) => `v1 blob inline-limit=${inlineLimit}`

/** The layer the store made of this blob, if it has it whole (named as asked); null: fetch it. */
export function knownBlob(home: Home, digest: string, inlineLimit: number, name?: string): ImportResult | null {
  const cache = new DigestCache(home.digests, `blob ${digest}`)
  let last = cache.lastTree
  // a layer imported from an OCI layout with this blob counts too
  if (!last) {
    const id = new LayerStore(home).fromBlob(inlineLimit, digest)
    if (id) last = {layer: id, fingerprint: digest, settings: blobSettings(inlineLimit)}
  }
  return unchangedSince(home, last, blobSettings(inlineLimit), () => digest, name)
}

export function rememberBlob(home: Home, digest: string, layer: string, inlineLimit: number) {
  const cache = new DigestCache(home.digests, `blob ${digest}`)
  cache.setTree({layer, fingerprint: digest, settings: blobSettings(inlineLimit)})
  cache.save()
}

export interface PushedBlob {digest: string; size: number; diffId: string; mediaType: string; repos: string[]}

const pushKey = (layer: string, compression: string) => `push ${layer} ${compression}`

/** The blob push made of a layer with this compression before (it is reproducible: the same again). */
export function pushedBlob(home: Home, layer: string, compression: string): PushedBlob | undefined {
  const t = new DigestCache(home.digests, pushKey(layer, compression)).lastTree
  if (!t || t.layer !== layer || t.settings !== 'v1 push') return undefined
  try {
    return JSON.parse(t.fingerprint) as PushedBlob
  } catch {
    return undefined
  }
}

export function rememberPush(home: Home, layer: string, compression: string, blob: PushedBlob, inlineLimit: number) {
  const cache = new DigestCache(home.digests, pushKey(layer, compression))
  cache.setTree({layer, fingerprint: JSON.stringify(blob), settings: 'v1 push'})
  cache.save()
  rememberBlob(home, blob.digest, layer, inlineLimit)
}
