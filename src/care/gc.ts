// `strata gc`: removes what nothing refers to — objects no layer's stub
// redirects to, composed and materialized trees of layer chains no stack
// uses, digest caches of imports whose layer is gone, staging left by
// interrupted commands — under the store's exclusive lock.
import {existsSync, readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import type {Home} from '../store/home.js'
import {StoreLock} from '../store/lock.js'
import {leftoverStaging, removeTree} from '../store/fsutil.js'
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

export function collectGarbage(home: Home, opts: {dryRun?: boolean} = {}): GcResult {
  const lock = StoreLock.exclusive(home, 'gc')
  try {
    const layers = new LayerStore(home)
    const used = new Set<string>()
    for (const id of layers.ids()) for (const e of scanTree(layers.tree(id))) if (e.digest) used.add(e.digest)

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
    for (const pre of existsSync(home.objects) ? readdirSync(home.objects) : []) {
      for (const rest of readdirSync(join(home.objects, pre))) {
        if (used.has(pre + rest)) {
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
      const leftovers = leftoverStaging(home.tmp)
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
    // holding the lock exclusively, no other command is staging anything that matters
    for (const n of existsSync(home.tmp) ? readdirSync(home.tmp) : []) {
      const pid = Number(/-(\d+)-/.exec(n)?.[1])
      if (pid && pid !== process.pid && existsSync(`/proc/${pid}`)) continue
      if (keepDisplaced && n.startsWith('upper-') && existsSync(join(home.tmp, n, 'old-upper'))) continue
      r.leftovers.removed++
      if (!opts.dryRun) removeTree(join(home.tmp, n))
    }
    return r
  } finally {
    lock.release()
  }
}
