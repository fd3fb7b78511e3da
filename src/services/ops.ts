// The verbs that run inside the store's user namespace: everything that
// writes or deletes under STRATA_HOME, where files belong to ids of the
// mapping. One table, typed end to end: a caller names an op and gets its
// arguments and result checked at compile time (services/namespace.ts); the
// namespace's process (inner.ts) dispatches by the same table. Each op loads
// its modules on demand, so the namespace's process starts small.
import {Home} from '../store/home.js'
import type {Mapping} from '../runtime/idmap.js'
import type {ArchiveImportArgs, ArchiveImportResult} from '../import/source.js'
import type {StackInfo} from '../stack/stacks.js'
import type {Reference} from '../registry/reference.js'
import type {Platform} from '../registry/manifest.js'
import type {Credentials} from '../registry/auth.js'
import type {PushCompression} from '../registry/push.js'
import type {PullResult} from '../registry/pull.js'
import type {OpCall} from '../runtime/enter.js'
import {conflict, notFound, isNotFound} from '../errors.js'

/** Where a registry is and how to speak to it: the command parses, the namespace's process talks (docs/design.md, Registries). */
interface Remote {ref: Reference; tlsVerify?: boolean; authfile?: string; creds?: Credentials}

/** What every op is given besides its own arguments. */
export interface Common {home: string; mapping: Mapping; progress?: boolean}

/**
 * What import and pull share: a stack name given with --stack is checked
 * before anything is read, the store is held shared while the layers are made
 * (gc must not remove what they are about to refer to), and the stack is made
 * on them last.
 */
async function intoNewStack<R extends object>(a: Common & {stack?: string; backend?: string}, make: (home: Home) => Promise<R>, layersOf: (r: R) => string[]): Promise<R & {stack?: StackInfo}> {
  const {StoreLock} = await import('../store/lock.js')
  const {StackStore, checkStackName} = await import('../stack/stacks.js')
  const home = new Home(a.home)
  const stacks = new StackStore(home)
  if (a.stack !== undefined) {
    checkStackName(a.stack)
    if (stacks.has(a.stack)) throw conflict(`stack '${a.stack}' already exists`, 'choose another name, or remove it with `strata stack rm`')
  }
  const lock = StoreLock.shared(home)
  try {
    const r: R = await make(home)
    if (a.stack === undefined) return r
    return {...r, stack: stacks.create(a.stack, layersOf(r), a.mapping, a.backend)}
  } finally {
    lock.release()
  }
}

export const ops = {
  async 'import-archive'(a: Common & ArchiveImportArgs & {stack?: string; backend?: string}): Promise<ArchiveImportResult & {stack?: StackInfo}> {
    const {importArchive} = await import('../import/source.js')
    return intoNewStack(a, (home) => importArchive(home, a), (r) => ('image' in r ? r.layers.map((l) => l.layer.id) : [r.layer.id]))
  },
  async pull(a: Common & Remote & {platform?: Platform; name?: string; stack?: string; backend?: string; inlineLimit?: number}): Promise<PullResult & {stack?: StackInfo}> {
    const {pullImage} = await import('../registry/pull.js')
    const {importTarStream, failed} = await import('../import/tar.js')
    return intoNewStack(a, (home) => pullImage(home, a.ref, a, {importTar: (input, o, undo) => importTarStream(home, input, o, undo), failed}), (r) => r.layers.map((l) => l.layer.id))
  },
  async push(a: Common & Remote & {source: string; compression?: PushCompression}) {
    const {pushImage} = await import('../registry/push.js')
    const {writeLayerTar} = await import('../export/export.js')
    const {StackStore} = await import('../stack/stacks.js')
    const {LayerStore} = await import('../layer/layers.js')
    const {diffStack} = await import('../stack/commit.js')
    const home = new Home(a.home)
    const stacks = new StackStore(home)
    let layers: string[]
    let stack: string | null = null
    // held while read (docs/design.md, Locking): the stack shared, as `stack export` holds it; a layer as `layer export` does
    let release: () => void
    if (stacks.has(a.source)) {
      stack = a.source
      release = stacks.lock(a.source, 'shared')
    } else {
      let id: string
      try {
        id = new LayerStore(home).resolve(a.source)
      } catch (e) {
        if (!isNotFound(e)) throw e
        throw notFound(`no stack or layer named '${a.source}'`, 'see `strata stack list` and `strata layer list`')
      }
      const hold = new LayerStore(home).hold(id)
      release = () => hold.release()
      layers = [id]
    }
    try {
      if (stack !== null) {
        const changes = diffStack(home, stack).changes.length
        if (changes) throw conflict(`stack '${stack}' has ${changes} uncommitted change${changes > 1 ? 's' : ''} in its upper, which push would leave out`, `commit them first (\`strata commit ${stack}\`), or discard them (\`strata reset ${stack}\`)`)
        layers = stacks.get(stack).layers
      }
      return {source: {kind: stack ? 'stack' : 'layer', name: a.source}, ...(await pushImage(home, layers!, a.ref, a, writeLayerTar))}
    } finally {
      release()
    }
  },
  async 'layer-export'(a: Common & {ref: string; output: string}) {
    const {exportLayer} = await import('../export/export.js')
    return exportLayer(new Home(a.home), a.ref, a.output)
  },
  async 'stack-export'(a: Common & {stack: string; dir: string; tag: string; compression: 'none' | 'gzip'}) {
    const {exportStackOci} = await import('../export/export.js')
    const {StackStore} = await import('../stack/stacks.js')
    const home = new Home(a.home)
    const stacks = new StackStore(home)
    const release = stacks.lock(a.stack, 'shared') // its layers stay while the stack does
    try {
      return await exportStackOci(home, stacks.get(a.stack), a.dir, a.tag, a.compression)
    } finally {
      release()
    }
  },
  async stamp(a: Common & {tree: string; objects: string; inlineLimit?: number; check?: boolean; undo?: boolean}) {
    const {stamp} = await import('../import/stamp.js')
    return stamp(a.tree, a.objects, a)
  },
  async 'stack-create'(a: Common & {name: string; layers: string[]; backend: string}) {
    const {StackStore} = await import('../stack/stacks.js')
    const {StoreLock} = await import('../store/lock.js')
    const home = new Home(a.home)
    const lock = StoreLock.shared(home) // gc must not sweep the new chain's composed tree before the stack names it
    try {
      return new StackStore(home).create(a.name, a.layers, a.mapping, a.backend)
    } finally {
      lock.release()
    }
  },
  async 'stack-rm'(a: Common & {name: string; wait?: boolean}) {
    const {StackStore} = await import('../stack/stacks.js')
    new StackStore(new Home(a.home)).remove(a.name, a.wait === true)
    return {removed: a.name}
  },
  async 'layer-rm'(a: Common & {ref: string; wait?: boolean}) {
    const {LayerStore} = await import('../layer/layers.js')
    const {StackStore} = await import('../stack/stacks.js')
    const home = new Home(a.home)
    const layers = new LayerStore(home)
    const id = layers.resolve(a.ref)
    layers.remove(id, () => new StackStore(home).usersOf(id), a.wait === true)
    return {removed: id}
  },
  async diff(a: Common & {stack: string}) {
    const {diffStack} = await import('../stack/commit.js')
    return diffStack(new Home(a.home), a.stack)
  },
  async commit(a: Common & {stack: string; name?: string}) {
    const {commitStack} = await import('../stack/commit.js')
    return commitStack(new Home(a.home), a.stack, a.name)
  },
  async reset(a: Common & {stack: string}) {
    const {resetStack} = await import('../stack/commit.js')
    return resetStack(new Home(a.home), a.stack)
  },
  async flatten(a: Common & {layers: string[]}) {
    const {ensureFlat} = await import('../stack/flat.js')
    return {path: ensureFlat(new Home(a.home), a.layers)}
  },
  async compose(a: Common & {layers: string[]}) {
    const {ensureComposed} = await import('../stack/compose.js')
    return {path: ensureComposed(new Home(a.home), a.layers)}
  },
  async probe(a: Common) {
    const {probe} = await import('../runtime/probe.js')
    return probe(new Home(a.home))
  },
  async check(a: Common & {repair?: boolean; data?: boolean; wait?: boolean}) {
    const {checkStore} = await import('../care/check.js')
    return checkStore(new Home(a.home), {repair: a.repair === true, data: a.data !== false, wait: a.wait === true})
  },
  async gc(a: Common & {dryRun?: boolean; wait?: boolean}) {
    const {collectGarbage} = await import('../care/gc.js')
    return collectGarbage(new Home(a.home), {dryRun: a.dryRun === true, wait: a.wait === true})
  },
}

export type Ops = typeof ops
export type OpName = keyof Ops
/** An op's own arguments: what its caller gives (the common ones are added on the way in). */
export type ArgsOf<K extends OpName> = Omit<Parameters<Ops[K]>[0], keyof Common>
export type ResultOf<K extends OpName> = Awaited<ReturnType<Ops[K]>>
/** Each op as a call from outside the namespace (see runtime/enter.ts, OpCall). */
export type OpCalls = {[K in OpName]: OpCall<ArgsOf<K>, ResultOf<K>>}
export const opNames = Object.keys(ops) as OpName[]
