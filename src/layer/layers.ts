// Published layers: layers/<id>/tree (immutable) and layers/<id>/layer.json.
// Layers are referred to by name, full id or a unique id prefix.
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {scanTree} from './scan.js'
import type {Home} from '../store/home.js'
import {conflict, integrity, notFound, usage, isNotFound} from '../errors.js'
import {discard, publish, writeAtomic, writeFileAt} from '../store/fsutil.js'
import {releaseStaging, stagingName} from '../store/staging.js'
import {InodeLock, inUseBy} from '../store/lock.js'
import type {ObjectStore} from '../store/objects.js'
import {sys} from '../sys.js'
import {METACOPY, decodeMetacopy} from '../format/xattrs.js'
import {DigestIndex} from '../format/digest-index.js'
import {encodeRecord, readRecord} from '../format/record.js'
import {LayerIndex} from './layer-index.js'

export interface LayerInfo {
  id: string
  names: string[]
  source: {kind: string; path: string}
  created: string
  inlineLimit: number
  counts: {entries: number; dirs: number; files: number; stubs: number; symlinks: number; fifos: number; whiteouts: number; hardlinks: number}
  bytes: {content: number; objectsAdded: number; objectBytesAdded: number}
  skipped: {devices: number; sockets: number; squashedOwners: number; paths: string[]}
}

/** The shortest id prefix that names a layer (git's minimum too). */
export const MIN_PREFIX = 4

/** A layer's digest index's file name, beside tree/ and layer.json. */
export const DIGESTS = 'digests'

// '/' too: a pulled image's top layer is named by its reference (docker.io/library/debian:12)
const NAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._:@+-]|\/(?![/.]|$)){0,254}$/

/** The blob a layer was made of: an OCI layout's or a registry's layer (source path …@sha256:…). */
export function blobOf(source: LayerInfo['source']): string | undefined {
  if (source.kind !== 'oci' && source.kind !== 'registry') return undefined
  return /@([a-z0-9]+:[0-9a-f]{32,})$/.exec(source.path)?.[1]
}

export function checkLayerName(name: string) {
  if (!NAME_RE.test(name))
    throw usage(`invalid layer name '${name}'`, 'use letters, digits and . _ : @ + - / (up to 255), starting with a letter or digit')
}

export class LayerStore {
  /** names and blobs to ids without reading every layer.json (layer-index.ts) */
  readonly lookup: LayerIndex
  constructor(readonly home: Home) {
    this.lookup = new LayerIndex(home)
  }

  tree(id: string) { return join(this.home.layer(id), 'tree') }
  /** The layer's digest index (format/digest-index.ts): beside its tree, written before it is published. */
  indexFile(id: string) { return join(this.home.layer(id), DIGESTS) }

  /** The layer's digest index, or undefined for a layer of format 1 not upgraded yet (its stubs carry their digests). */
  index(id: string): DigestIndex | undefined {
    let text: string
    try {
      text = readFileSync(this.indexFile(id), 'latin1')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw e
    }
    return DigestIndex.decode(text)
  }

  /** The layer's entries, stubs with their full digests (from its index). */
  entries(id: string) { return scanTree(this.tree(id), this.index(id)) }
  private infoFile(id: string) { return join(this.home.layer(id), 'layer.json') }

  ids(): string[] {
    if (!existsSync(this.home.layers)) return []
    return readdirSync(this.home.layers).filter((n) => /^[0-9a-f]{64}$/.test(n)).sort()
  }

  get(id: string): LayerInfo {
    try {
      return readRecord<LayerInfo>(this.infoFile(id), 'layer')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
      // removed by a `layer rm` since we found it, or damaged from outside
      if (!existsSync(this.home.layer(id))) throw notFound(`no layer ${id.slice(0, 12)}: it was removed`, 'see `strata layer list`')
      throw integrity(`layer ${id.slice(0, 12)} is damaged: layers/${id} has no layer.json`, 'run `strata check` to see it, remove that directory, then import again')
    }
  }

  /** Every layer's record; one removed while we list is left out (docs/design.md, Locking). */
  list(): LayerInfo[] {
    return this.ids().flatMap((id) => {
      try {
        return [this.get(id)]
      } catch (e) {
        if (isNotFound(e)) return []
        throw e
      }
    })
  }

  /**
   * Holds a layer shared while it is read (its tree walked, linked, exported):
   * no `layer rm` can take it meanwhile. Waits out a removal going on; a layer
   * removed before we held it is not found (exit 3).
   */
  hold(id: string): InodeLock {
    const l = InodeLock.take(this.home.layer(id), false, true)
    if (l === 'busy' || l === 'gone') throw notFound(`no layer ${id.slice(0, 12)}: it was removed`, 'see `strata layer list`')
    return l
  }

  has(id: string) { return existsSync(this.infoFile(id)) }

  /**
   * The layer made of an OCI blob (an OCI layout's, a registry's) at this
   * inline limit, if the store has it: what importing that blob again would
   * make. Through the index: one link and one layer.json read.
   */
  fromBlob(inlineLimit: number, digest: string): string | undefined {
    const linked = this.lookup.blob(inlineLimit, digest)
    const madeOf = (l: LayerInfo) => l.inlineLimit === inlineLimit && blobOf(l.source) === digest
    if (linked === null) return this.list().find(madeOf)?.id
    if (!linked) return undefined
    try {
      return madeOf(this.get(linked)) ? linked : undefined
    } catch (e) {
      if (isNotFound(e)) return undefined
      throw e
    }
  }

  /** The store has the layer and every object its stubs name (by its index, or read from their metacopy xattrs only: this is a fast path). */
  whole(id: string, objects: ObjectStore): boolean {
    if (!this.has(id)) return false
    const index = this.index(id)
    if (index) {
      for (const [d, n] of index.aliases) if (!existsSync(objects.pathOf(n > 0 ? d.slice(0, 2 + n) : d))) return false
      return true
    }
    const walk = (dir: Buffer): boolean => {
      for (const d of readdirSync(dir, {withFileTypes: true, encoding: 'buffer'})) {
        const p = Buffer.concat([dir, Buffer.from('/'), d.name as unknown as Buffer])
        if (d.isDirectory()) {
          if (!walk(p)) return false
        } else if (d.isFile()) {
          const m = sys.getxattr(p, METACOPY)
          const digest = m ? decodeMetacopy(m) : null
          if (digest && !objects.has(digest)) return false
        }
      }
      return true
    }
    return walk(Buffer.from(this.tree(id)))
  }

  /** A name, a full id or a unique id prefix → the layer's id; reads one layer.json for a name, none for an id (but for the message naming candidates). */
  resolve(ref: string): string {
    const named = this.named(ref)
    if (named) return named
    const hex = /^[0-9a-fA-F]{1,64}$/.test(ref)
    const matches = hex ? this.ids().filter((id) => id.startsWith(ref.toLowerCase())) : []
    const candidates = () =>
      matches
        .slice(0, 5)
        .map((id) => {
          const names = this.namesOf(id) ?? []
          return id.slice(0, 12) + (names.length ? ` (${names.join(', ')})` : '')
        })
        .join(', ') + (matches.length > 5 ? ', …' : '')
    // as git: a prefix this short names a layer by accident more often than on purpose
    if (matches.length && ref.length < MIN_PREFIX)
      throw usage(`layer id prefix '${ref}' is too short (it matches ${candidates()})`, `give at least ${MIN_PREFIX} characters of the id, or the layer's name`)
    if (matches.length === 1) return matches[0]
    if (matches.length > 1) throw usage(`layer id prefix '${ref}' is ambiguous: ${candidates()}`, 'give more characters of the id')
    throw notFound(`no layer named '${ref}'`, 'see `strata layer list`')
  }

  /** A layer's names; undefined when it is gone (removed meanwhile). */
  private namesOf(id: string): string[] | undefined {
    try {
      return this.get(id).names
    } catch (e) {
      if (isNotFound(e)) return undefined
      throw e
    }
  }

  /** The layer with this name: the first on its link in the index that still has it, or (no index yet) from every layer.json. */
  named(name: string): string | undefined {
    const chain = this.lookup.chain(name)
    if (chain === null) return this.list().find((l) => l.names.includes(name))?.id
    return chain.find((id) => this.namesOf(id)?.includes(name))
  }

  /** Makes the layer index when the store has none yet (from every layer.json, once). */
  buildIndex() {
    if (this.lookup.built) return
    this.lookup.build(this.list().map((l) => {
      const blob = blobOf(l.source)
      return {id: l.id, names: l.names, ...(blob ? {blob: [l.inlineLimit, blob] as [number, string]} : {})}
    }))
  }

  /** Before a layer made of a blob is published: the index names it for that blob (so every such layer is found). */
  recordBlob(info: LayerInfo) {
    const blob = blobOf(info.source)
    if (!blob) return
    this.buildIndex()
    this.lookup.setBlob(info.inlineLimit, blob, info.id)
  }

  /** Writes layer.json into a staged layer directory (published with it). */
  writeStagedInfo(dir: string, info: LayerInfo) {
    writeFileAt(join(dir, 'layer.json'), encodeRecord('layer', info))
  }

  /** Rewrites a published layer's layer.json atomically (its temporary file under tmp/, never inside a layer). */
  writeInfo(dir: string, info: LayerInfo) {
    writeAtomic(join(dir, 'layer.json'), encodeRecord('layer', info), this.home.tmp, 'layer-json')
  }

  /**
   * Gives a layer a name. A name names one layer: taken from another layer,
   * it moves (as an image tag does), and the other layer's id is returned.
   */
  addName(id: string, name: string): string | undefined {
    checkLayerName(name)
    this.buildIndex()
    // the link first, naming id and every layer that may still have the name (layer-index.ts): then
    // the name given, then taken from the others, then the link left naming id alone. A crash
    // between leaves the name on both (the next import or commit with it settles that), never on none
    const chain = this.lookup.chain(name) ?? []
    const others = chain.filter((o) => o !== id)
    if (chain[0] !== id) this.lookup.set(name, [id, ...others])
    const info = this.get(id)
    if (!info.names.includes(name)) {
      info.names.push(name)
      this.writeInfo(this.home.layer(id), info)
    }
    let movedFrom: string | undefined
    for (const o of others) {
      let other: LayerInfo
      try {
        other = this.get(o)
      } catch (e) {
        if (isNotFound(e)) continue
        throw e
      }
      if (!other.names.includes(name)) continue
      other.names = other.names.filter((n) => n !== name)
      this.writeInfo(this.home.layer(o), other)
      movedFrom = o
    }
    if (others.length) this.lookup.set(name, [id])
    return movedFrom
  }

  /** Publishes a staged layer directory (tree/ + layer.json) by rename; false if it already exists. */
  publish(staging: string, id: string): boolean {
    if (this.has(id)) return false
    try {
      publish(staging, this.home.layer(id), 'layer-publish')
      releaseStaging(staging) // its lock came along: published, the layer is everyone's
      return true
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && this.has(id)) return false
      // a directory under the id without its layer.json: damaged from outside
      if (code === 'ENOTEMPTY' || code === 'EEXIST')
        throw integrity(`layer ${id.slice(0, 12)} is in the store but damaged (layers/${id} has no layer.json)`, 'run `strata check` to see it, remove that directory, then import again')
      throw e
    }
  }

  /**
   * Removes a layer; refused while a stack uses it, and while a command reads
   * it (exit 4 naming who, unless wait: then it waits for them). Under the
   * layer's exclusive lock: the stacks that use it are read (a `stack create`
   * of it holds it shared until its stack is published, so none can be on
   * the way), then the layer is renamed out into tmp/ (readers arriving later
   * find it gone), then removed, still locked (gc leaves it alone).
   */
  remove(id: string, usersOf: () => string[], wait = false) {
    const dir = this.home.layer(id)
    const lock = InodeLock.take(dir, true, wait)
    if (lock === 'gone') throw notFound(`no layer ${id.slice(0, 12)}: it was removed`, 'see `strata layer list`')
    if (lock === 'busy') throw conflict(`layer ${id.slice(0, 12)} is ${inUseBy(dir)}`, 'try again when it has finished, or pass --wait to wait for it')
    try {
      const usedBy = usersOf()
      if (usedBy.length)
        throw conflict(`layer ${id.slice(0, 12)} is used by stack${usedBy.length > 1 ? 's' : ''} ${usedBy.join(', ')}`, 'remove those stacks first (`strata stack rm`)')
      let info: LayerInfo | undefined
      try {
        info = this.get(id)
      } catch {} // damaged: removed all the same
      const names = info?.names ?? []
      const doomed = stagingName(this.home.tmp, 'rm-layer')
      publish(dir, doomed, 'layer-rm')
      discard(doomed) // removed already: what can't be deleted now is a leftover, not a failure
      // its names' links go too (one left by a crash before this names a layer that is gone: read as no layer)
      for (const n of names) {
        const chain = this.lookup.chain(n)
        if (chain) this.lookup.set(n, chain.filter((o) => o !== id))
      }
      const blob = info && blobOf(info.source)
      if (blob) this.lookup.dropBlob(info!.inlineLimit, blob, id)
    } finally {
      lock.release()
    }
  }
}
