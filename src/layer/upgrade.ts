// A store of format 1 made format 2, in place (docs/design.md, Format 2 and
// the upgrade), by the first command that writes to it. Per layer: every
// object its stubs name gets its alias, the layer's digest index is
// published (by rename), then each stub's redirect is pointed at the alias
// and its metacopy emptied, in that order. Every state in between reads
// right: a stub still carrying its digest names its object itself, an
// emptied one finds its digest in the index already there; either redirect
// reads the same inode. So a SIGKILL anywhere leaves a store that works,
// and the next command that writes does it again (each step is idempotent)
// until store.json says format 2, written last. Format 3 adds the layer
// index (layer/layer-index.ts), made whole and published by rename before
// store.json says 3.
import {closeSync, openSync} from 'node:fs'
import {join} from 'node:path'
import {writeAtomic} from '../store/fsutil.js'
import type {Home} from '../store/home.js'
import {ObjectStore} from '../store/objects.js'
import {STORE_FORMAT, checkStoreFormat, writeStoreFile} from '../store/store-file.js'
import {sys} from '../sys.js'
import {DigestIndex} from '../format/digest-index.js'
import {FULL_NAME} from '../format/stub.js'
import {METACOPY, REDIRECT, encodeRedirect} from '../format/xattrs.js'
import {LayerStore} from './layers.js'
import {abs, scanTree} from './scan.js'
import {tracer} from '../trace.js'

const debug = tracer('strata:upgrade')

export interface UpgradeResult {from: number; to: number; layers: number; stubs: number}

/**
 * Brings the store to this strata's format when it is older (null when
 * nothing was to do), under the store's lock held exclusively, waiting for
 * commands that hold it to finish. Refuses (exit 5) a store of a newer format.
 */
export function upgradeStore(home: Home, hooks: Hooks = testHooks()): UpgradeResult | null {
  if (checkStoreFormat(home) === STORE_FORMAT) return null
  home.ensure()
  const fd = openSync(join(home.root, 'lock'), 'a')
  try {
    sys.flock(fd, true, true)
    const from = checkStoreFormat(home) // another command may have done it meanwhile
    if (from === STORE_FORMAT) return null
    const layers = new LayerStore(home)
    const objects = new ObjectStore(home.objects, home.tmp)
    let stubs = 0
    const ids = layers.ids()
    if (from < 2) for (const id of ids) stubs += upgradeLayer(home, layers, objects, id, hooks)
    // format 3: the layer index (published by rename, or already made by a command killed after it)
    layers.buildIndex()
    writeStoreFile(home, {format: STORE_FORMAT})
    debug('store %s: format %d -> %d, %d layers, %d stubs', home.root, from, STORE_FORMAT, ids.length, stubs)
    return {from, to: STORE_FORMAT, layers: ids.length, stubs}
  } finally {
    closeSync(fd)
  }
}

interface Hooks {afterStep?: () => void}

/** STRATA_TEST_UPGRADE_KILL_AT=N: the process kills itself (SIGKILL) after the upgrade's Nth step (an index published, a stub rewritten), so tests can stop it anywhere. */
function testHooks(): Hooks {
  const at = Number(process.env.STRATA_TEST_UPGRADE_KILL_AT)
  if (!Number.isInteger(at) || at < 0) return {}
  let step = 0
  return {afterStep: () => (++step >= at ? process.kill(process.pid, 'SIGKILL') : undefined)}
}

function upgradeLayer(home: Home, layers: LayerStore, objects: ObjectStore, id: string, hooks: Hooks): number {
  const tree = layers.tree(id)
  const old = layers.index(id)
  const entries = scanTree(tree, old)
  const index = new DigestIndex()
  for (const e of entries) {
    if (e.type !== 'stub' || !e.digest || index.aliases.has(e.digest)) continue
    // an alias made by an upgrade killed earlier is what its stubs may name already: kept
    const had = old?.aliases.get(e.digest)
    // a missing object can't get an alias: its stubs keep their digest (check reports them)
    index.add(e.digest, had && had > 0 ? had : objects.has(e.digest) ? objects.alias(e.digest) : 0)
  }
  writeAtomic(layers.indexFile(id), index.encode().toString('latin1'), home.tmp, 'upgrade-index')
  hooks.afterStep?.()
  let n = 0
  for (const e of entries) {
    if (e.type !== 'stub' || e.linkTo || !e.digest) continue
    const alias = index.aliases.get(e.digest)!
    if (alias === 0) continue
    const p = abs(tree, e.path)
    const want = e.digest.slice(0, 2 + Math.min(alias, FULL_NAME))
    if (e.object !== want) sys.setxattr(p, REDIRECT, encodeRedirect(e.digest, alias))
    if (sys.getxattr(p, METACOPY)?.length) sys.setxattr(p, METACOPY, Buffer.alloc(0))
    n++
    hooks.afterStep?.()
  }
  return n
}
