// Stacks: an ordered list of layers (top first) with a writable upper.
import {chmodSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {randomBytes} from 'node:crypto'
import type {Home} from '../store/home.js'
import {LayerStore} from '../layer/layers.js'
import {StrataError, conflict, notFound, usage} from '../errors.js'
import {removeTree} from '../store/fsutil.js'
import {releaseStaging, stagingDir, stagingName} from '../store/staging.js'
import {InodeLock, lockHolders} from '../store/lock.js'
import {ensureComposed} from './compose.js'
import {sys} from '../sys.js'
import {isStructural} from '../format/xattrs.js'

// How a stack is mounted (see runtime/backends.ts): recorded with the stack, since its upper is written in that backend's form.
export const BACKENDS = ['kernel', 'kernel-flat', 'fuse'] as const
export type Backend = (typeof BACKENDS)[number]

export function checkBackend(name: string): Backend | 'auto' {
  if (name === 'auto' || (BACKENDS as readonly string[]).includes(name)) return name as Backend | 'auto'
  throw usage(`unknown backend '${name}'`, `use one of: auto, ${BACKENDS.join(', ')}`)
}

/** The stack's backend, as recorded when it was created. */
export const backendOf = (stack: StackInfo): Backend => (BACKENDS as readonly string[]).includes(stack.backend) ? (stack.backend as Backend) : 'kernel'

export interface StackInfo {
  name: string
  layers: string[] // ids, top first
  mapping: 'auto' | 'single'
  backend: string
  created: string
}

/** Names become directory names and mount options: no '/', no dot names, nothing unprintable. */
export function checkStackName(name: string) {
  if (!name || name === '.' || name === '..' || name.includes('/') || /[\x00-\x1f\x7f]/.test(name) || name.startsWith('-') || Buffer.byteLength(name) > 128)
    throw usage(`invalid stack name '${name.replace(/[\x00-\x1f]/g, '?')}'`, "a stack name can't contain '/', be '.' or '..', start with '-' or exceed 128 bytes")
}

export class StackStore {
  constructor(readonly home: Home) {}

  dir(name: string) { return this.home.stack(name) }
  upper(name: string) { return join(this.dir(name), 'upper') }
  work(name: string) { return join(this.dir(name), 'work') }
  merged(name: string) { return join(this.dir(name), 'merged') }

  names(): string[] {
    if (!existsSync(this.home.stacks)) return []
    return readdirSync(this.home.stacks).filter((n) => existsSync(join(this.home.stack(n), 'stack.json'))).sort()
  }

  has(name: string) { return existsSync(join(this.dir(name), 'stack.json')) }

  get(name: string): StackInfo {
    checkStackName(name)
    const missing = () => notFound(`no stack named '${name}'`, 'see `strata stack list`, or create it with `strata stack create`')
    if (!this.has(name)) throw missing()
    try {
      return JSON.parse(readFileSync(join(this.dir(name), 'stack.json'), 'utf8'))
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw missing() // removed by a `stack rm` since
      throw e
    }
  }

  /** Every stack's record; one removed while we list is left out (docs/design.md, Locking). */
  list(): StackInfo[] {
    return this.names().flatMap((n) => {
      try {
        return [this.get(n)]
      } catch (e) {
        if (e instanceof StrataError && e.code === 'not_found') return []
        throw e
      }
    })
  }

  /** Stacks that use a layer. */
  usersOf(id: string): string[] { return this.list().filter((s) => s.layers.includes(id)).map((s) => s.name) }

  /**
   * Creates a stack of layers (top first), its upper starting with the root of
   * the composed tree. Its layers are held shared until the stack is
   * published: a `layer rm` of one either finished before (not found, exit 3)
   * or finds this stack using it (docs/design.md, Locking). The caller holds
   * the store shared, so gc leaves the new chain's composed tree alone.
   */
  create(name: string, layerRefs: string[], mapping: StackInfo['mapping'], backend = 'kernel'): StackInfo {
    checkBackend(backend)
    checkStackName(name)
    if (layerRefs.length === 0) throw usage('a stack needs at least one layer', 'name its layers, top first: `strata stack create NAME LAYER...`')
    const layers = new LayerStore(this.home)
    const ids = layerRefs.map((r) => layers.resolve(r))
    if (this.has(name)) throw conflict(`stack '${name}' already exists`, 'choose another name, or remove it with `strata stack rm`')
    this.home.ensure()
    const held: InodeLock[] = []
    try {
      for (const id of ids) held.push(layers.hold(id))
      const composed = ensureComposed(this.home, ids)
      const staging = stagingDir(this.home.tmp, 'stack')
      try {
        mkdirSync(join(staging, 'work'), {mode: 0o755})
        mkdirSync(join(staging, 'merged'), {mode: 0o755})
        freshUpper(join(staging, 'upper'), composed)
        const info: StackInfo = {name, layers: ids, mapping, backend, created: new Date().toISOString()}
        writeFileSync(join(staging, 'stack.json'), JSON.stringify(info, null, 2) + '\n')
        renameSync(staging, this.dir(name))
        releaseStaging(staging)
        return info
      } catch (e) {
        removeTree(staging)
        releaseStaging(staging)
        if ((e as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (e as NodeJS.ErrnoException).code === 'EEXIST')
          throw conflict(`stack '${name}' already exists`, 'choose another name, or remove it with `strata stack rm`')
        throw e
      }
    } finally {
      for (const h of held) h.release()
    }
  }

  /**
   * Removes a stack: under its exclusive lock (refused while a run, mount,
   * diff, export or commit holds it, exit 4 naming who, unless wait), renamed
   * out into tmp/ first, then removed, still locked (gc leaves it alone).
   */
  remove(name: string, wait = false) {
    const release = this.lock(name, 'exclusive', wait || 'flag')
    try {
      const doomed = stagingName(this.home.tmp, 'rm-stack')
      renameSync(this.dir(name), doomed)
      removeTree(doomed)
    } finally {
      release()
    }
  }

  /** Rewrites stack.json with these layers (top first), atomically: write, then rename. */
  setLayers(name: string, layers: string[]): StackInfo {
    const info = {...this.get(name), layers}
    const file = join(this.dir(name), 'stack.json')
    const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}`
    writeFileSync(tmp, JSON.stringify(info, null, 2) + '\n')
    renameSync(tmp, file)
    return info
  }

  /**
   * Empties the stack's upper and work: fresh ones are made beside them, then
   * swapped in by rename; the old ones are removed last. The new upper's root
   * takes the root metadata of the composed tree it will be mounted over.
   */
  replaceUpper(name: string, composed: string) {
    const staging = stagingDir(this.home.tmp, 'upper') // what a crash leaves here, `check --repair` removes
    try {
      freshUpper(join(staging, 'new-upper'), composed)
      mkdirSync(join(staging, 'new-work'), {mode: 0o755})
      swap(this.upper(name), join(staging, 'new-upper'), join(staging, 'old-upper'))
      swap(this.work(name), join(staging, 'new-work'), join(staging, 'old-work'))
    } finally {
      removeTree(staging)
    }
  }

  /**
   * Holds the stack: exclusive for what changes or removes it (commit, reset,
   * stack rm), shared for what reads it (run, a mount's holder, diff,
   * export, check). flock on the stack's directory, released by the kernel if
   * the holder dies. A conflict (exit 4) names the holder, unless wait; a
   * stack removed before we held it is not found (exit 3).
   */
  lock(name: string, mode: 'exclusive' | 'shared' = 'exclusive', wait: boolean | 'flag' = false): () => void {
    this.get(name)
    const dir = this.dir(name)
    const l = InodeLock.take(dir, mode === 'exclusive', wait === true)
    if (l === 'gone' || (l !== 'busy' && !this.has(name))) {
      if (typeof l !== 'string') l.release()
      throw notFound(`no stack named '${name}': it was removed`, 'see `strata stack list`')
    }
    if (l === 'busy') {
      const h = lockHolders(dir)
      const who = h.length ? `: ${h.join(', ')}` : ''
      throw mode === 'exclusive'
        ? conflict(`stack '${name}' is in use (a run, commit or reset is going on)${who}`, wait === 'flag' ? 'try again when it has finished, or pass --wait to wait for it' : 'try again when it has finished')
        : conflict(`stack '${name}' is being committed, reset or removed${who}`, 'try again when that has finished')
    }
    return () => l.release()
  }
}

/** Puts fresh where live is, live going to old; if that fails, live stays. */
function swap(live: string, fresh: string, old: string) {
  renameSync(live, old)
  try {
    renameSync(fresh, live)
  } catch (e) {
    renameSync(old, live)
    throw e
  }
}

/** A new, empty upper whose root has the composed tree's root metadata: what the merged root shows. */
export function freshUpper(target: string, composed: string) {
  mkdirSync(target, {mode: 0o755})
  const root = lstatSync(composed, {bigint: true})
  lchownSync(target, Number(root.uid), Number(root.gid))
  chmodSync(target, Number(root.mode) & 0o7777)
  for (const n of sys.listxattr(composed)) {
    if (!n.startsWith('user.') || isStructural(n)) continue
    const v = sys.getxattr(composed, n)
    if (v !== null) sys.setxattr(target, n, v)
  }
  sys.utimens(target, root.atimeNs, root.mtimeNs)
}
