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
  async import(a) {
    const {importDir} = await import('../layer/import-dir.js')
    const {importProgress} = await import('../cli/progress.js')
    const progress = importProgress(a.progress === true)
    try {
      return await importDir(new Home(a.home), a.source as string, {name: a.name as string | undefined, inlineLimit: a.inlineLimit as number | undefined, onProgress: progress.update})
    } finally {
      progress.done()
    }
  },
  async 'stack-create'(a) {
    const {StackStore} = await import('../stack/stacks.js')
    return new StackStore(new Home(a.home)).create(a.name as string, a.layers as string[], a.mapping)
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
  async sandbox(a) {
    const {runSandbox} = await import('../mount/sandbox.js')
    return runSandbox(new Home(a.home), a.spec as import('../mount/sandbox.js').SandboxSpec)
  },
  async compose(a) {
    const {ensureComposed} = await import('../compose/compose.js')
    return {path: ensureComposed(new Home(a.home), a.layers as string[])}
  },
}
