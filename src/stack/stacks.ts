// Stacks: an ordered list of layers (top first) with a writable upper.
import {chmodSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import type {Home} from '../store/home.js'
import {LayerStore} from '../layer/layers.js'
import {StrataError, conflict, notFound, usage, isNotFound} from '../errors.js'
import {discard, exchange, publish, writeAtomic, writeFileAt} from '../store/fsutil.js'
import {releaseStaging, stagingDir, stagingName} from '../store/staging.js'
import {InodeLock, lockHolders} from '../store/lock.js'
import {ensureComposed} from './compose.js'
import {prepareVerity} from './verity.js'
import {sys} from '../sys.js'
import {isStructural} from '../format/xattrs.js'
import {encodeRecord, readRecord} from '../format/record.js'

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
  /** 'require': mounted with overlayfs's verity=require, objects checked by the kernel (stack/verity.ts); absent: not */
  verity?: 'require'
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
      return readRecord<StackInfo>(join(this.dir(name), 'stack.json'), 'stack')
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
        if (isNotFound(e)) return []
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
  create(name: string, layerRefs: string[], mapping: StackInfo['mapping'], backend = 'kernel', verity = false): StackInfo {
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
      if (verity) prepareVerity(this.home, layers, ids, backend)
      const composed = ensureComposed(this.home, ids)
      const staging = stagingDir(this.home.tmp, 'stack')
      try {
        mkdirSync(join(staging, 'work'), {mode: 0o755})
        mkdirSync(join(staging, 'merged'), {mode: 0o755})
        freshUpper(join(staging, 'upper'), composed)
        const info: StackInfo = {name, layers: ids, mapping, backend, created: new Date().toISOString(), ...(verity ? {verity: 'require' as const} : {})}
        writeFileAt(join(staging, 'stack.json'), encodeRecord('stack', info)) // staged: published with the directory
        publish(staging, this.dir(name), 'stack-create')
        releaseStaging(staging)
        return info
      } catch (e) {
        discard(staging)
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
      publish(this.dir(name), doomed, 'stack-rm')
      discard(doomed) // removed already: what can't be deleted now is a leftover, not a failure
    } finally {
      release()
    }
  }

  /** Rewrites stack.json with these layers (top first), atomically: write, then rename. */
  setLayers(name: string, layers: string[]): StackInfo {
    const info = {...this.get(name), layers}
    writeAtomic(join(this.dir(name), 'stack.json'), encodeRecord('stack', info), this.home.tmp, 'stack-json')
    return info
  }

  /**
   * Empties the stack's upper and work: stageUpper makes fresh ones under
   * tmp/ (everything that takes space happens there, so a full disk fails
   * before anything changes), swapUpper swaps them in, discard(staged)
   * removes the old ones. The new upper's root takes the root metadata of
   * the composed tree it will be mounted over.
   */
  replaceUpper(name: string, composed: string) {
    const staged = this.stageUpper(name, composed)
    try {
      this.swapUpper(name, staged)
    } finally {
      discard(staged)
    }
  }

  /** A fresh upper and work for the stack, staged under tmp/ with a note of the stack they are for (see mend). */
  stageUpper(name: string, composed: string): string {
    const staging = stagingDir(this.home.tmp, 'upper')
    try {
      writeFileAt(join(staging, 'stack'), name)
      freshUpper(join(staging, 'upper'), composed)
      mkdirSync(join(staging, 'work'), {mode: 0o755})
      return staging
    } catch (e) {
      discard(staging)
      throw e
    }
  }

  /**
   * Swaps a staged upper and work in, each in one atomic step (RENAME_EXCHANGE):
   * a crash leaves the old upper or the new one, never none; the old ones end
   * up in the staging directory. Where the filesystem can't exchange, two
   * renames: the live one out to old-upper, the fresh one in; a crash between
   * them leaves the stack without an upper, which mend puts back.
   */
  swapUpper(name: string, staged: string) {
    for (const d of ['upper', 'work'] as const) {
      const live = join(this.dir(name), d)
      const fresh = join(staged, d)
      if (exchange(fresh, live, `stack-${d}`)) continue
      const old = join(staged, `old-${d}`)
      publish(live, old, `stack-${d}-out`)
      try {
        publish(fresh, live, `stack-${d}-in`)
      } catch (e) {
        publish(old, live, `stack-${d}-back`)
        throw e
      }
    }
    rmSync(this.mountPointsFile(name), {force: true}) // strata's mount points went with the old upper
  }

  /**
   * Makes a stack whose upper/, work/ or merged/ is missing mountable again
   * (`check --repair`, and commit and reset before they start). An upper that
   * a crash displaced (a staging directory under tmp/, named in leftovers,
   * holding old-upper while its fresh upper was never moved in) is put back:
   * the one whose note names this stack, or, for staging made before notes
   * were kept, the only such one when this is the only stack without an upper.
   * Without one, the upper starts empty (and says so). work/ and merged/ are
   * scratch: made anew. Returns what it did.
   */
  mend(name: string, leftovers: string[]): string[] {
    const done: string[] = []
    const dir = this.dir(name)
    if (!existsSync(this.upper(name))) {
      const displaced = leftovers.filter((p) => /\/upper-[^/]*$/.test(p) && existsSync(join(p, 'old-upper')) && (existsSync(join(p, 'upper')) || existsSync(join(p, 'new-upper'))))
      const noteOf = (p: string) => {
        try {
          return readFileSync(join(p, 'stack'), 'utf8')
        } catch {
          return undefined
        }
      }
      let found = displaced.find((p) => noteOf(p) === name)
      if (!found) {
        const unnamed = displaced.filter((p) => noteOf(p) === undefined)
        const upperless = this.names().filter((n) => !existsSync(this.upper(n)))
        if (unnamed.length === 1 && upperless.length === 1 && upperless[0] === name) found = unnamed[0]
      }
      if (found) {
        publish(join(found, 'old-upper'), this.upper(name), 'mend-upper')
        done.push(`put back stack ${name}'s upper from ${found}`)
      } else {
        const stack = this.get(name)
        let composed: string | undefined
        try {
          composed = ensureComposed(this.home, stack.layers)
        } catch {}
        if (composed) freshUpper(this.upper(name), composed)
        else mkdirSync(this.upper(name), {mode: 0o755})
        done.push(`stack ${name} had no upper/ and none was found under tmp/: it starts empty`)
      }
    }
    for (const d of ['work', 'merged']) {
      if (existsSync(join(dir, d))) continue
      mkdirSync(join(dir, d), {mode: 0o755})
      done.push(`made stack ${name}'s missing ${d}/ anew`)
    }
    return done
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
    writeAtomic(this.mountPointsFile(name), JSON.stringify(all) + '\n', this.home.tmp, 'mountpoints')
  }

  private mountPointsFile(name: string) { return join(this.dir(name), 'mountpoints.json') }

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
      throw this.lockRefused(name, 'gone')
    }
    if (l === 'busy') throw this.lockRefused(name, 'busy', mode, wait)
    return () => l.release()
  }

  /**
   * Why a stack's lock was refused: it was removed (exit 3), or another holds
   * it (exit 4, naming the holder). Also for a lock strata-ns takes (`run`'s
   * shared hold, runtime/setup.ts).
   */
  lockRefused(name: string, why: 'busy' | 'gone', mode: 'exclusive' | 'shared' = 'shared', wait: boolean | 'flag' = false): StrataError {
    if (why === 'gone') return notFound(`no stack named '${name}': it was removed`, 'see `strata stack list`')
    const h = lockHolders(this.dir(name))
    const who = h.length ? `: ${h.join(', ')}` : ''
    return mode === 'exclusive'
      ? conflict(`stack '${name}' is in use (a run, commit or reset is going on)${who}`, wait === 'flag' ? 'try again when it has finished, or pass --wait to wait for it' : 'try again when it has finished')
      : conflict(`stack '${name}' is being committed, reset or removed${who}`, 'try again when that has finished')
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
