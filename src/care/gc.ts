// `strata gc`: removes what nothing refers to — objects no layer's stub
// redirects to, composed and materialized trees of layer chains no stack
// uses, digest caches of imports whose layer is gone, staging left by
// interrupted commands — under the store's exclusive lock, so nothing is
// being published meanwhile; each layer is held shared while its tree is
// read, so a `layer rm` going on is waited out and its layer skipped
// (docs/design.md, Locking).
import {existsSync, readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import type {Home} from '../store/home.js'
import {StoreLock} from '../store/lock.js'
import {removeTree} from '../store/fsutil.js'
import {isLeftover, leftovers as stagingLeftovers, removeLeftover} from '../store/staging.js'
import {isNotFound} from '../errors.js'
import {aliasOwners} from '../store/objects.js'
import {LayerStore} from '../layer/layers.js'
import {scanTree} from '../layer/scan.js'
import {StackStore} from '../stack/stacks.js'
import {chainId} from '../stack/compose.js'
import {recordedLayer} from '../store/digest-cache.js'

export interface GcResult {
  dryRun: boolean
  objects: {removed: number; bytes: number; kept: number}
  composed: {removed: number; kept: number}
  flat: {removed: number; kept: number}
  digests: {removed: number; kept: number}
  leftovers: {removed: number}
}

export function collectGarbage(home: Home, opts: {dryRun?: boolean; wait?: boolean} = {}): GcResult {
  const lock = StoreLock.exclusive(home, 'gc', opts.wait)
  try {
    const layers = new LayerStore(home)
    const used = new Set<string>() // digests of objects some layer's stubs (or index) name
    const usedNames = new Set<string>() // the object names the stubs' redirects give (aliases included)
    for (const id of layers.ids()) {
      let hold
      try {
        hold = layers.hold(id)
      } catch (e) {
        if (isNotFound(e)) continue // removed meanwhile: its objects are garbage too
        throw e
      }
      try {
        const index = layers.index(id)
        for (const d of index?.aliases.keys() ?? []) used.add(d)
        for (const e of scanTree(layers.tree(id), index)) {
          if (e.digest) used.add(e.digest)
          if (e.object) usedNames.add(e.object)
        }
      } finally {
        hold.release()
      }
    }

    const none = () => ({removed: 0, kept: 0})
    const r: GcResult = {dryRun: !!opts.dryRun, objects: {removed: 0, bytes: 0, kept: 0}, composed: none(), flat: none(), digests: none(), leftovers: {removed: 0}}
    const sweep = (dir: string, keep: (name: string) => boolean, tally: {removed: number; kept: number}) => {
      for (const n of existsSync(dir) ? readdirSync(dir) : []) {
        if (keep(n)) tally.kept++
        else {
          tally.removed++
          if (!opts.dryRun) removeTree(join(dir, n))
        }
      }
    }
    // aliases and objects together: an object is kept when a stub names it by digest or by
    // any of its aliases, and its aliases with it; an alias goes before its object's name
    for (const pre of existsSync(home.objects) ? readdirSync(home.objects) : []) {
      const names = readdirSync(join(home.objects, pre))
      const owners = aliasOwners(home.objects, pre, names)
      const keep = new Set<string>()
      for (const rest of names) if (!owners.has(rest) && used.has(pre + rest)) keep.add(pre + rest)
      for (const [a, owner] of owners) if (owner && usedNames.has(pre + a)) keep.add(owner)
      for (const [a, owner] of owners) {
        // an alias of no object that a stub still reads is left for check to report: it holds the only copy
        if ((owner && keep.has(owner)) || (!owner && usedNames.has(pre + a))) continue
        if (!opts.dryRun) removeTree(join(home.objects, pre, a))
      }
      for (const rest of names) {
        if (owners.has(rest)) continue
        if (keep.has(pre + rest)) {
          r.objects.kept++
          continue
        }
        const p = join(home.objects, pre, rest)
        r.objects.removed++
        r.objects.bytes += statSync(p).blocks * 512
        if (!opts.dryRun) removeTree(p)
      }
    }

    const chains = new Set(new StackStore(home).list().map((s) => chainId(s.layers)))
    sweep(home.composed, (c) => chains.has(c), r.composed)
    sweep(home.flat, (c) => chains.has(c), r.flat)
    // a source's digests are worth keeping while the layer its last import made is
    sweep(home.digests, (f) => {
      const layer = recordedLayer(join(home.digests, f))
      return !!layer && layers.has(layer)
    }, r.digests)

    // an upper a crash displaced into tmp/ goes back to its stack before tmp/ is swept
    const stacks = new StackStore(home)
    const upperless = () => stacks.names().filter((name) => !['upper', 'work', 'merged'].every((d) => existsSync(join(stacks.dir(name), d))))
    if (!opts.dryRun) {
      const leftovers = stagingLeftovers(home.tmp)
      for (const name of upperless()) {
        let unlock: (() => void) | undefined
        try {
          unlock = stacks.lock(name)
          stacks.mend(name, leftovers)
        } catch {
          // `check` names it; the displaced uppers stay (below)
        } finally {
          unlock?.()
        }
      }
    }
    const keepDisplaced = upperless().length > 0
    // staging whose writer is gone: its lock is free (store/staging.ts)
    for (const n of existsSync(home.tmp) ? readdirSync(home.tmp) : []) {
      if (keepDisplaced && n.startsWith('upper-') && existsSync(join(home.tmp, n, 'old-upper'))) continue
      const p = join(home.tmp, n)
      if (opts.dryRun ? isLeftover(p) : removeLeftover(p)) r.leftovers.removed++
    }
    return r
  } finally {
    lock.release()
  }
}
