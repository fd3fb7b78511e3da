// The materialized ("flat") tree of a layer chain, for the fallback backends:
// the composed tree with every stub replaced by a real file holding its
// object's data (a reflink where the filesystem can, else a copy that keeps
// holes), with the stub's metadata. Everything else is a hardlink to the
// composed tree's inode. Cached like the composed tree, by chain id.
import {constants as fsc, copyFileSync, existsSync, linkSync, mkdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import type {Home} from '../store/home.js'
import {ObjectStore, copySparse} from '../store/objects.js'
import {buildCached} from '../store/staging.js'
import {abs, scanTree} from '../layer/scan.js'
import {TreeWriter} from '../layer/writer.js'
import {chainId, ensureComposed} from './compose.js'

export function flatPath(home: Home, layerIds: string[]) {
  return join(home.flat, chainId(layerIds))
}

export function ensureFlat(home: Home, layerIds: string[]): string {
  const target = flatPath(home, layerIds)
  if (existsSync(target)) return target
  const composed = ensureComposed(home, layerIds)
  const objects = new ObjectStore(home.objects, home.tmp)
  return buildCached(home.tmp, 'flat', target, (root) => {
    const w = new TreeWriter(root)
    const entries = scanTree(composed)
    for (const e of entries) {
      const dst = abs(root, e.path)
      if (e.type === 'dir') mkdirSync(dst, {mode: 0o700})
      else if (e.linkTo) linkSync(abs(root, e.linkTo), dst)
      else if (e.type !== 'stub') linkSync(abs(composed, e.path), dst)
      else {
        const obj = objects.pathOf(e.object!)
        const st = statSync(obj)
        // a sparse object is copied block by block so its holes stay holes
        if (st.blocks * 512 < st.size) copySparse(obj, dst)
        else copyFileSync(obj, dst, fsc.COPYFILE_FICLONE)
        w.apply(dst, e, true)
      }
    }
    // directories last, deepest first, so their mtimes stay
    for (const e of entries.filter((x) => x.type === 'dir').reverse()) w.apply(abs(root, e.path), e, true)
  })
}
