// Stacks: an ordered list of layers (top first) with a writable upper.
import {chmodSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {randomBytes} from 'node:crypto'
import type {Home} from '../store/home.js'
import {LayerStore} from '../layer/layers.js'
import {conflict, notFound, usage} from '../cli/errors.js'
import {removeTree, stagingDir} from '../store/fsutil.js'
import {ensureComposed} from '../compose/compose.js'
import {sys} from '../sys/index.js'
import {checkBackend} from '../mount/backends.js'

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
      for (const d of ['upper', 'work', 'merged']) mkdirSync(join(staging, d), {mode: 0o755})
      // the merged root shows the upper's root: give it the stack's root metadata
      const root = lstatSync(composed, {bigint: true})
      const upper = join(staging, 'upper')
      lchownSync(upper, Number(root.uid), Number(root.gid))
      chmodSync(upper, Number(root.mode) & 0o7777)
      sys.utimens(upper, root.atimeNs, root.mtimeNs)
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
}
