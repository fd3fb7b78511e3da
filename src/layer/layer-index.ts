// The layer index (docs/design.md, Layer lookup). Names: index/names/<name>
// ('/' written as '%', which names can't hold) is a symlink whose text is the
// id of the layer with that name, followed by the ids it is moving from while
// a move is under way ("NEW OLD…"). A name is found by reading one link and
// the layer.json of the first id on it that still has the name: no reading of
// every layer.json, which a store of thousands of pulled layers can't afford.
//
// What keeps it true: every layer that has a name is on that name's link.
// A move writes the link (new id first, the old ones after) before any
// layer.json changes, and drops the old ids from it only once they lost the
// name; a crash anywhere leaves a link that still covers both, and the next
// move of the name (the same import again) finishes it. The index is made
// whole once (from every layer.json, staged and published by rename) by the
// first command that names a layer, or by the upgrade to format 3; until it
// exists, readers read every layer.json as before.
//
// Blobs: index/blobs/<inline limit>-<algorithm>-<hex> is a symlink to the id of
// the layer made of that OCI blob (an import of a layout, a pull) at that
// inline limit: what importing the blob again would make, found without
// reading every layer.json (a pull asks for each blob it hasn't fetched). Written
// before the layer is published, so every such layer has its link; a link to a
// layer that isn't there (a crash before publishing, a layer removed) is none.
import {existsSync, mkdirSync, readlinkSync, symlinkSync, unlinkSync} from 'node:fs'
import {join} from 'node:path'
import type {Home} from '../store/home.js'
import {publish} from '../store/fsutil.js'
import {releaseStaging, removeStaging, stagingDir, stagingName} from '../store/staging.js'

export class LayerIndex {
  constructor(readonly home: Home) {}

  get root() { return join(this.home.root, 'index') }
  get dir() { return join(this.root, 'names') }
  private blobLink(inlineLimit: number, digest: string) { return join(this.root, 'blobs', `${inlineLimit}-${digest.replace(':', '-')}`) }
  private link(name: string) { return join(this.dir, name.replaceAll('/', '%')) }

  /** Whether the index is there (else: every layer.json is the only answer). */
  get built(): boolean { return existsSync(this.dir) }

  /** The ids on a name's link, the one it names first ([]: no layer has the name); null when the index isn't built. */
  chain(name: string): string[] | null {
    try {
      return readlinkSync(this.link(name)).split(' ')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
      return this.built ? [] : null
    }
  }

  /** The layer the index says was made of this blob at this inline limit (to be checked: it may be gone); null when the index isn't built. */
  blob(inlineLimit: number, digest: string): string | undefined | null {
    try {
      return readlinkSync(this.blobLink(inlineLimit, digest))
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
      return this.built ? undefined : null
    }
  }

  /** Records that layer id is made of this blob at this inline limit (before it is published). */
  setBlob(inlineLimit: number, digest: string, id: string) {
    this.replaceLink(this.blobLink(inlineLimit, digest), id, join(this.root, 'blobs'))
  }

  /** Drops a blob's link if it names id. */
  dropBlob(inlineLimit: number, digest: string, id: string) {
    if (this.blob(inlineLimit, digest) !== id) return
    try {
      unlinkSync(this.blobLink(inlineLimit, digest))
    } catch {}
  }

  /** Points a name's link at ids (first: the layer that has it), replacing it by rename; none: the link goes. */
  set(name: string, ids: string[]) {
    const link = this.link(name)
    if (ids.length === 0) {
      try {
        unlinkSync(link)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
      }
      return
    }
    this.replaceLink(link, ids.join(' '), this.dir)
  }

  /** Writes a link (text) by rename over the old one, made beside it in dir. */
  private replaceLink(link: string, text: string, dir: string) {
    // made beside it, not in tmp/: gc takes what it can't lock in tmp/ for a leftover, and a symlink
    // can't be locked; a crash leaves a .new-… here, which no name can be (names begin with a letter or digit)
    const t = stagingName(dir, '.new')
    symlinkSync(text, t)
    try {
      publish(t, link, 'index-link')
    } catch (e) {
      try {
        unlinkSync(t)
      } catch {}
      throw e
    }
  }

  /**
   * Makes the index from every layer's names and blob (all), staged and
   * published by rename; another command that made it first wins (both read
   * the same layer.json files, and a name it gives later goes into that one).
   */
  build(all: readonly {id: string; names: string[]; blob?: [number, string]}[]) {
    if (this.built) return
    const byName = new Map<string, string[]>()
    for (const {id, names} of all) for (const n of names) byName.set(n, [...(byName.get(n) ?? []), id])
    // published as index/ holding names/: a directory not empty, so a second build's rename can't replace it
    const staging = stagingDir(this.home.tmp, 'layer-index')
    try {
      mkdirSync(join(staging, 'names'))
      mkdirSync(join(staging, 'blobs'))
      for (const [n, ids] of byName) symlinkSync(ids.join(' '), join(staging, 'names', n.replaceAll('/', '%')))
      for (const {id, blob} of all) if (blob) symlinkSync(id, join(staging, 'blobs', `${blob[0]}-${blob[1].replace(':', '-')}`))
      publish(staging, join(this.home.root, 'index'), 'layer-index')
      releaseStaging(staging)
    } catch (e) {
      removeStaging(staging)
      const code = (e as NodeJS.ErrnoException).code
      if (!((code === 'ENOTEMPTY' || code === 'EEXIST') && this.built)) throw e
    }
  }
}
