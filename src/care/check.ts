// `strata check`: the store against itself. Every layer's tree must still
// hash to its id and find its objects; every object must still hash to its
// name; every stack's layers must exist. Leftovers of interrupted commands
// (staging under tmp/ whose process is gone) are not damage: --repair
// removes them, along with objects whose content no longer matches their name.
import {existsSync, mkdirSync, readdirSync, renameSync} from 'node:fs'
import {join} from 'node:path'
import type {Home} from '../store/home.js'
import {ObjectStore} from '../store/objects.js'
import {leftoverStaging, removeTree} from '../store/fsutil.js'
import {LayerStore} from '../layer/layers.js'
import {scanTree} from '../layer/scan.js'
import {treeId, displayPath} from '../format/entry.js'
import {StackStore} from '../stack/stacks.js'

export interface Problem {kind: 'layer' | 'object' | 'stack' | 'store'; ref: string; message: string}
export interface CheckResult {
  ok: boolean
  counts: {layers: number; objects: number; stacks: number}
  problems: Problem[]
  leftovers: string[]
  repaired: string[]
}

export function checkStore(home: Home, opts: {repair?: boolean; data?: boolean} = {}): CheckResult {
  const problems: Problem[] = []
  const repaired: string[] = []
  const objects = new ObjectStore(home.objects, home.tmp)
  const layers = new LayerStore(home)
  const stacks = new StackStore(home)

  // objects: named by their content
  let objectCount = 0
  const badObjects = new Set<string>()
  if (existsSync(home.objects))
    for (const pre of readdirSync(home.objects)) {
      for (const rest of readdirSync(join(home.objects, pre))) {
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
  for (const id of ids) {
    try {
      const info = layers.get(id)
      if (info.id !== id) problems.push({kind: 'layer', ref: id, message: `layer ${id.slice(0, 12)}'s layer.json names another id`})
      const entries = scanTree(layers.tree(id))
      if (treeId(entries) !== id) problems.push({kind: 'layer', ref: id, message: `layer ${id.slice(0, 12)}'s tree was changed: it no longer hashes to its id`})
      for (const e of entries) {
        if (e.type !== 'stub' || e.linkTo) continue
        if (!objects.has(e.digest!)) problems.push({kind: 'layer', ref: id, message: `layer ${id.slice(0, 12)}: ${displayPath(e.path)} refers to missing object ${e.digest!.slice(0, 12)}`})
        else if (badObjects.has(e.digest!)) problems.push({kind: 'layer', ref: id, message: `layer ${id.slice(0, 12)}: ${displayPath(e.path)} refers to damaged object ${e.digest!.slice(0, 12)}`})
        else if (objects.size(e.digest!) !== e.size) problems.push({kind: 'layer', ref: id, message: `layer ${id.slice(0, 12)}: ${displayPath(e.path)} is sized unlike its object`})
      }
    } catch (err) {
      problems.push({kind: 'layer', ref: id, message: `layer ${id.slice(0, 12)} can't be read: ${(err as Error).message}`})
    }
  }

  // stacks: their layers exist, and their upper, work and merged directories
  const names = stacks.names()
  const unmended: string[] = []
  for (const name of names) {
    try {
      const s = stacks.get(name)
      for (const l of s.layers) if (!layers.has(l)) problems.push({kind: 'stack', ref: name, message: `stack ${name} uses layer ${l.slice(0, 12)}, which is gone`})
      const missing = ['upper', 'work', 'merged'].filter((d) => !existsSync(join(stacks.dir(name), d)))
      // what a crash mid-swap leaves: --repair mends it (below), else it is damage
      if (missing.length && opts.repair) unmended.push(name)
      else for (const d of missing) problems.push({kind: 'stack', ref: name, message: `stack ${name} has no ${d}/ directory`})
    } catch (err) {
      problems.push({kind: 'stack', ref: name, message: `stack ${name} can't be read: ${(err as Error).message}`})
    }
  }

  // leftovers of interrupted commands: staging whose process is gone
  const leftovers = leftoverStaging(home.tmp)

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
    for (const p of leftovers) {
      removeTree(p)
      repaired.push(`removed leftover ${p}`)
    }
    for (const d of badObjects) {
      // aside, not deleted: the data may still matter to someone
      const aside = join(home.root, 'damaged', d)
      mkdirSync(join(home.root, 'damaged'), {recursive: true})
      renameSync(objects.path(d), aside)
      repaired.push(`moved damaged object ${d.slice(0, 12)} to ${aside}; re-import the layers that used it`)
    }
  }
  return {ok: problems.length === 0, counts: {layers: ids.length, objects: objectCount, stacks: names.length}, problems, leftovers, repaired}
}

