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
  async 'import-archive'(a) {
    const {importArchive} = await import('../layer/import-archive.js')
    return importArchive(new Home(a.home), a as never)
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
  async run(a) {
    const {runInStack} = await import('../mount/run.js')
    return runInStack(new Home(a.home), a.stack as string, a.argv as string[])
  },
}
