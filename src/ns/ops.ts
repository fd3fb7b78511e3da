// What runs inside the user namespace: everything that writes or deletes
// under STRATA_HOME, where files belong to ids of the mapping. Each op is
// loaded on demand, so the namespace's process starts small.
import {Home} from '../store/home.js'
import type {Mapping} from './idmap.js'

export interface OpArgs {
  home: string
  mapping: Mapping
  progress?: boolean
  [k: string]: unknown
}

export const ops: Record<string, (a: OpArgs) => Promise<unknown>> = {
  async 'import-archive'(a) {
    const {importArchive} = await import('../layer/import-archive.js')
    const {StoreLock} = await import('../store/lock.js')
    const home = new Home(a.home)
    const lock = StoreLock.shared(home) // gc must not remove what this import is about to refer to
    try {
      return await importArchive(home, a as never)
    } finally {
      lock.release()
    }
  },
  async 'layer-export'(a) {
    const {exportLayer} = await import('../layer/export.js')
    return exportLayer(new Home(a.home), a.ref as string, a.output as string)
  },
  async 'stack-export'(a) {
    const {exportStackOci} = await import('../layer/export.js')
    return exportStackOci(new Home(a.home), a.stack as string, a.dir as string, a.tag as string, a.compression as 'none' | 'gzip')
  },
  async stamp(a) {
    const {stamp} = await import('../layer/stamp.js')
    return stamp(a.tree as string, a.objects as string, a as never)
  },
  async 'stack-create'(a) {
    const {StackStore} = await import('../stack/stacks.js')
    return new StackStore(new Home(a.home)).create(a.name as string, a.layers as string[], a.mapping, a.backend as string)
  },
  async 'stack-rm'(a) {
    const {StackStore} = await import('../stack/stacks.js')
    new StackStore(new Home(a.home)).remove(a.name as string)
    return {removed: a.name}
  },
  async 'layer-rm'(a) {
    const {LayerStore} = await import('../layer/layers.js')
    const {StackStore} = await import('../stack/stacks.js')
    const home = new Home(a.home)
    const layers = new LayerStore(home)
    const id = layers.resolve(a.ref as string)
    layers.remove(id, new StackStore(home).usersOf(id))
    return {removed: id}
  },
  async diff(a) {
    const {diffStack} = await import('../stack/commit.js')
    return diffStack(new Home(a.home), a.stack as string)
  },
  async commit(a) {
    const {commitStack} = await import('../stack/commit.js')
    return commitStack(new Home(a.home), a.stack as string, a.name as string | undefined)
  },
  async reset(a) {
    const {resetStack} = await import('../stack/commit.js')
    return resetStack(new Home(a.home), a.stack as string)
  },
  async sandbox(a) {
    const {runSandbox} = await import('../mount/sandbox.js')
    return runSandbox(new Home(a.home), a.spec as import('../mount/sandbox.js').SandboxSpec)
  },
  async flatten(a) {
    const {ensureFlat} = await import('../compose/flat.js')
    return {path: ensureFlat(new Home(a.home), a.layers as string[])}
  },
  async compose(a) {
    const {ensureComposed} = await import('../compose/compose.js')
    return {path: ensureComposed(new Home(a.home), a.layers as string[])}
  },
  async probe(a) {
    const {probe} = await import('../mount/probe.js')
    return probe(new Home(a.home))
  },
  async check(a) {
    const {checkStore} = await import('../store/check.js')
    return checkStore(new Home(a.home), {repair: a.repair === true, data: a.data !== false})
  },
  async gc(a) {
    const {collectGarbage} = await import('../store/gc.js')
    return collectGarbage(new Home(a.home), {dryRun: a.dryRun === true})
  },
}
