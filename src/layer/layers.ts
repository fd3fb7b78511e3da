// Published layers: layers/<id>/tree (immutable) and layers/<id>/layer.json.
// Layers are referred to by name, full id or a unique id prefix.
import {existsSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {randomBytes} from 'node:crypto'
import type {Home} from '../store/home.js'
import {conflict, integrity, notFound, usage} from '../errors.js'
import {discard, publish, writeAtomic, writeFileAt} from '../store/fsutil.js'
import type {ObjectStore} from '../store/objects.js'
import {sys} from '../sys.js'
import {METACOPY, decodeMetacopy} from '../format/xattrs.js'
import {encodeRecord, readRecord} from '../format/record.js'

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

// '/' too: a pulled image's top layer is named by its reference (docker.io/library/debian:12)
const NAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._:@+-]|\/(?![/.]|$)){0,254}$/

export function checkLayerName(name: string) {
  if (!NAME_RE.test(name))
    throw usage(`invalid layer name '${name}'`, 'use letters, digits and . _ : @ + - / (up to 255), starting with a letter or digit')
}

export class LayerStore {
  constructor(readonly home: Home) {}

  tree(id: string) { return join(this.home.layer(id), 'tree') }
  private infoFile(id: string) { return join(this.home.layer(id), 'layer.json') }

  ids(): string[] {
    if (!existsSync(this.home.layers)) return []
    return readdirSync(this.home.layers).filter((n) => /^[0-9a-f]{64}$/.test(n)).sort()
  }

  get(id: string): LayerInfo {
    return readRecord<LayerInfo>(this.infoFile(id), 'layer')
  }

  list(): LayerInfo[] {
    return this.ids().map((id) => this.get(id))
  }

  has(id: string) { return existsSync(this.infoFile(id)) }

  /** Layers made from OCI blobs at this inline limit, by blob digest: what importing that blob again would make (if whole). */
  byBlob(inlineLimit: number): Map<string, string> {
    const out = new Map<string, string>()
    for (const l of this.list())
      if (l.source.kind === 'oci' && l.inlineLimit === inlineLimit) out.set(l.source.path.slice(l.source.path.lastIndexOf('@') + 1), l.id)
    return out
  }

  /** The store has the layer and every object its stubs name (read from their metacopy xattrs only: this is a fast path). */
  whole(id: string, objects: ObjectStore): boolean {
    if (!this.has(id)) return false
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

  /** A name, a full id or a unique id prefix → the layer's id. */
  resolve(ref: string): string {
    const all = this.list()
    const named = all.find((l) => l.names.includes(ref))
    if (named) return named.id
    const matches = all.filter((l) => l.id.startsWith(ref.toLowerCase()))
    if (/^[0-9a-fA-F]{1,64}$/.test(ref) && matches.length === 1) return matches[0].id
    if (/^[0-9a-fA-F]{1,64}$/.test(ref) && matches.length > 1)
      throw usage(`layer id prefix '${ref}' is ambiguous (${matches.length} layers)`, 'give more characters of the id')
    throw notFound(`no layer named '${ref}'`, 'see `strata layer list`')
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
    // given first, taken second: a crash between leaves the name on both (the
    // next import or commit with it settles that), never on none
    const info = this.get(id)
    if (!info.names.includes(name)) {
      info.names.push(name)
      this.writeInfo(this.home.layer(id), info)
    }
    let movedFrom: string | undefined
    for (const other of this.list()) {
      if (other.id !== id && other.names.includes(name)) {
        other.names = other.names.filter((n) => n !== name)
        this.writeInfo(this.home.layer(other.id), other)
        movedFrom = other.id
      }
    }
    return movedFrom
  }

  /** Publishes a staged layer directory (tree/ + layer.json) by rename; false if it already exists. */
  publish(staging: string, id: string): boolean {
    if (this.has(id)) return false
    try {
      publish(staging, this.home.layer(id), 'layer-publish')
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

  /** Removes a layer; refused while a stack uses it. */
  remove(id: string, usedBy: string[]) {
    if (usedBy.length)
      throw conflict(`layer ${id.slice(0, 12)} is used by stack${usedBy.length > 1 ? 's' : ''} ${usedBy.join(', ')}`, 'remove those stacks first (`strata stack rm`)')
    // move aside first, so a half-removed layer is never visible under its id
    const doomed = join(this.home.tmp, `rm-layer-${id}-${randomBytes(4).toString('hex')}`)
    publish(this.home.layer(id), doomed, 'layer-rm')
    discard(doomed) // removed already: what can't be deleted now is a leftover, not a failure
  }
}
