// Stacks: an ordered list of layers (top first) with a writable upper.
import {chmodSync, closeSync, existsSync, lchownSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {randomBytes} from 'node:crypto'
import type {Home} from '../store/home.js'
import {LayerStore} from '../layer/layers.js'
import {conflict, notFound, usage} from '../errors.js'
import {removeTree, stagingDir} from '../store/fsutil.js'
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
    if (!this.has(name)) throw notFound(`no stack named '${name}'`, 'see `strata stack list`, or create it with `strata stack create`')
    return JSON.parse(readFileSync(join(this.dir(name), 'stack.json'), 'utf8'))
  }

  list(): StackInfo[] { return this.names().map((n) => this.get(n)) }

  /** Stacks that use a layer. */
  usersOf(id: string): string[] { return this.list().filter((s) => s.layers.includes(id)).map((s) => s.name) }

  /** Creates a stack of layers (top first), its upper starting with the root of the composed tree. */
  create(name: string, layerRefs: string[], mapping: StackInfo['mapping'], backend = 'kernel'): StackInfo {
    checkBackend(backend)
    checkStackName(name)
    if (layerRefs.length === 0) throw usage('a stack needs at least one layer', 'name its layers, top first: `strata stack create NAME LAYER...`')
    const layers = new LayerStore(this.home)
    const ids = layerRefs.map((r) => layers.resolve(r))
    if (this.has(name)) throw conflict(`stack '${name}' already exists`, 'choose another name, or remove it with `strata stack rm`')
    this.home.ensure()
    const composed = ensureComposed(this.home, ids)
    const staging = stagingDir(this.home.tmp, 'stack')
    try {
      mkdirSync(join(staging, 'work'), {mode: 0o755})
      mkdirSync(join(staging, 'merged'), {mode: 0o755})
      freshUpper(join(staging, 'upper'), composed)
      const info: StackInfo = {name, layers: ids, mapping, backend, created: new Date().toISOString()}
      writeFileSync(join(staging, 'stack.json'), JSON.stringify(info, null, 2) + '\n')
      renameSync(staging, this.dir(name))
      return info
    } catch (e) {
      removeTree(staging)
      if ((e as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (e as NodeJS.ErrnoException).code === 'EEXIST')
        throw conflict(`stack '${name}' already exists`, 'choose another name, or remove it with `strata stack rm`')
      throw e
    }
  }

  remove(name: string) {
    this.get(name)
    const doomed = join(this.home.tmp, `rm-stack-${randomBytes(6).toString('hex')}`)
    renameSync(this.dir(name), doomed)
    removeTree(doomed)
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
      rmSync(this.mountPointsFile(name), {force: true}) // they went with the old upper
    } finally {
      removeTree(staging)
    }
  }

  /**
   * Paths strata made in the stack's merged view as mount points (a volume's
   * target, or /proc, /dev, /tmp a stack lacks): they land in the upper, but
   * are no change of the user's, so diff and commit leave them out while they
   * are still what strata made (see readChanges). Forgotten with the upper.
   */
  mountPoints(name: string): Set<string> {
    try {
      return new Set(JSON.parse(readFileSync(this.mountPointsFile(name), 'utf8')) as string[])
    } catch {
      return new Set()
    }
  }

  addMountPoints(name: string, paths: string[]) {
    const all = [...new Set([...this.mountPoints(name), ...paths])]
    const file = this.mountPointsFile(name)
    const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}`
    writeFileSync(tmp, JSON.stringify(all) + '\n')
    renameSync(tmp, file)
  }

  private mountPointsFile(name: string) { return join(this.dir(name), 'mountpoints.json') }

  /**
   * Holds the stack for a commit or reset (exclusive) or while a run writes
   * into it (shared): one can't happen under the other. flock on the stack's
   * directory, released by the kernel if the holder dies.
   */
  lock(name: string, mode: 'exclusive' | 'shared' = 'exclusive'): () => void {
    this.get(name)
    const fd = openSync(this.dir(name), 'r')
    if (!sys.flock(fd, mode === 'exclusive', false)) {
      closeSync(fd)
      throw mode === 'exclusive'
        ? conflict(`stack '${name}' is in use (a run, commit or reset is going on)`, 'try again when it has finished')
        : conflict(`stack '${name}' is being committed or reset`, 'try again when that has finished')
    }
    return () => closeSync(fd)
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
