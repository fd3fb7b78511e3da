// `strata check`: the store against itself. Every layer's tree must still
// hash to its id and find its objects; every object must still hash to its
// name; every stack's layers must exist. Leftovers of interrupted commands
// (staging under tmp/ whose writer is gone) are not damage: --repair
// removes them, along with objects whose content no longer matches their name.
// A consistent view (docs/design.md, Locking): the store held shared (gc
// waits; --repair holds it exclusive, as gc does), each layer and stack held
// shared while it is read, and what was removed meanwhile skipped.
import {existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import type {Home} from '../store/home.js'
import {ObjectStore, aliasOwners} from '../store/objects.js'
import {StoreLock} from '../store/lock.js'
import {leftovers as stagingLeftovers, removeLeftover} from '../store/staging.js'
import {isNotFound} from '../errors.js'
import {LayerStore} from '../layer/layers.js'
import {treeId, displayPath} from '../format/entry.js'
import {objectRel} from '../format/xattrs.js'
import {StackStore} from '../stack/stacks.js'

export interface Problem {kind: 'layer' | 'object' | 'stack' | 'store'; ref: string; message: string}
export interface CheckResult {
  ok: boolean
  counts: {layers: number; objects: number; stacks: number}
  problems: Problem[]
  leftovers: string[]
  repaired: string[]
}

export function checkStore(home: Home, opts: {repair?: boolean; data?: boolean; wait?: boolean} = {}): CheckResult {
  const lock = opts.repair ? StoreLock.exclusive(home, 'check --repair', opts.wait) : StoreLock.shared(home)
  try {
    return checkHeld(home, opts)
  } finally {
    lock.release()
  }
}

/** Taken away by a remover between our listing and our reading it: not ours to report. */
const removed = (e: unknown) => isNotFound(e) || (e as NodeJS.ErrnoException).code === 'ENOENT'

function checkHeld(home: Home, opts: {repair?: boolean; data?: boolean}): CheckResult {
  const problems: Problem[] = []
  const repaired: string[] = []
  const objects = new ObjectStore(home.objects, home.tmp)
  const layers = new LayerStore(home)
  const stacks = new StackStore(home)

  // objects: named by their content; aliases (format 2): hardlinks to the object whose name they begin
  let objectCount = 0
  const badObjects = new Set<string>()
  if (existsSync(home.objects))
    for (const pre of readdirSync(home.objects)) {
      const names = readdirSync(join(home.objects, pre))
      const owners = aliasOwners(home.objects, pre, names)
      for (const rest of names) {
        if (owners.has(rest)) {
          if (!owners.get(rest))
            problems.push({kind: 'object', ref: `${pre}/${rest}`, message: `objects/${pre}/${rest} is an alias of no object: it is not a hardlink to an object whose name begins ${pre}${rest}`})
          continue
        }
        objectCount++
        const digest = pre + rest
        if (!/^[0-9a-f]{64}$/.test(digest)) {
          problems.push({kind: 'object', ref: `${pre}/${rest}`, message: `objects/${pre}/${rest} is not named by a digest`})
          continue
        }
        if (opts.data !== false && !objects.verify(digest)) {
          badObjects.add(digest)
          problems.push({kind: 'object', ref: digest, message: `object ${digest.slice(0, 12)}'s content no longer matches its digest`})
        }
      }
    }

  // layers: tree still hashes to the id; every stub finds its object
  const ids = layers.ids()
  let layerCount = 0
  for (const id of ids) {
    let hold
    try {
      hold = layers.hold(id)
    } catch (e) {
      if (removed(e)) continue
      throw e
    }
    layerCount++
    try {
      const info = layers.get(id)
      if (info.id !== id) problems.push({kind: 'layer', ref: id, message: `layer ${id.slice(0, 12)}'s layer.json names another id`})
      const entries = layers.entries(id)
      const unknown = entries.filter((e) => e.type === 'stub' && !e.linkTo && !e.digest)
      for (const e of unknown.slice(0, 10))
        problems.push({kind: 'layer', ref: id, message: `layer ${id.slice(0, 12)}: ${displayPath(e.path)} redirects to objects/${e.object ? objectRel(e.object) : '?'}, which its digest index doesn't name`})
      if (!unknown.length && treeId(entries) !== id) problems.push({kind: 'layer', ref: id, message: `layer ${id.slice(0, 12)}'s tree was changed: it no longer hashes to its id`})
      for (const e of entries) {
        if (e.type !== 'stub' || e.linkTo || !e.digest) continue
        const wrongAlias = e.object !== e.digest && !(e.object && e.digest.startsWith(e.object) && sameInode(objects.pathOf(e.object), objects.path(e.digest)))
        if (!objects.has(e.digest!)) problems.push({kind: 'layer', ref: id, message: `layer ${id.slice(0, 12)}: ${displayPath(e.path)} refers to missing object ${e.digest!.slice(0, 12)}`})
        else if (wrongAlias)
          problems.push({kind: 'layer', ref: id, message: `layer ${id.slice(0, 12)}: ${displayPath(e.path)} redirects to objects/${e.object ? objectRel(e.object) : '?'}, which is not object ${e.digest.slice(0, 12)} (a wrong alias)`})
        else if (badObjects.has(e.digest!)) problems.push({kind: 'layer', ref: id, message: `layer ${id.slice(0, 12)}: ${displayPath(e.path)} refers to damaged object ${e.digest!.slice(0, 12)}`})
        else if (objects.size(e.digest!) !== e.size) problems.push({kind: 'layer', ref: id, message: `layer ${id.slice(0, 12)}: ${displayPath(e.path)} is sized unlike its object`})
      }
    } catch (err) {
      problems.push({kind: 'layer', ref: id, message: `layer ${id.slice(0, 12)} can't be read: ${(err as Error).message}`})
    } finally {
      hold.release()
    }
  }

  // stacks: their layers exist, and their upper, work and merged directories
  const names = stacks.names()
  let stackCount = 0
  const unmended: string[] = []
  for (const name of names) {
    let release
    try {
      release = stacks.lock(name, 'shared', true) // a commit or reset swapping the upper: waited out
    } catch (e) {
      if (removed(e)) continue
      throw e
    }
    stackCount++
    try {
      const s = stacks.get(name)
      for (const l of s.layers) if (!layers.has(l)) problems.push({kind: 'stack', ref: name, message: `stack ${name} uses layer ${l.slice(0, 12)}, which is gone`})
      const missing = ['upper', 'work', 'merged'].filter((d) => !existsSync(join(stacks.dir(name), d)))
      // what a crash mid-swap leaves: --repair mends it (below), else it is damage
      if (missing.length && opts.repair) unmended.push(name)
      else for (const d of missing) problems.push({kind: 'stack', ref: name, message: `stack ${name} has no ${d}/ directory`})
    } catch (err) {
      problems.push({kind: 'stack', ref: name, message: `stack ${name} can't be read: ${(err as Error).message}`})
    } finally {
      release()
    }
  }

  // leftovers of interrupted commands: staging whose writer is gone (store/staging.ts)
  const leftovers = stagingLeftovers(home.tmp)

  if (opts.repair) {
    // before leftovers go: an upper a crash displaced is among them
    for (const name of unmended) {
      let unlock: (() => void) | undefined
      try {
        unlock = stacks.lock(name)
        repaired.push(...stacks.mend(name, leftovers))
      } catch (err) {
        problems.push({kind: 'stack', ref: name, message: `stack ${name} misses its upper, work or merged directory and could not be mended: ${(err as Error).message}`})
      } finally {
        unlock?.()
      }
    }
    for (const p of leftovers) if (removeLeftover(p)) repaired.push(`removed leftover ${p}`)
    for (const d of badObjects) {
      // aside, not deleted: the data may still matter to someone; its aliases (the same damaged inode) go
      for (const a of objects.aliasesOf(d)) rmSync(objects.pathOf(a), {force: true})
      const aside = join(home.root, 'damaged', d)
      mkdirSync(join(home.root, 'damaged'), {recursive: true})
      renameSync(objects.path(d), aside)
      repaired.push(`moved damaged object ${d.slice(0, 12)} to ${aside}; re-import the layers that used it`)
    }
  }
  return {ok: problems.length === 0, counts: {layers: layerCount, objects: objectCount, stacks: stackCount}, problems, leftovers, repaired}
}


function sameInode(a: string, b: string): boolean {
  try {
    const x = lstatSync(a)
    const y = lstatSync(b)
    return x.ino === y.ino && x.dev === y.dev
  } catch {
    return false
  }
}
