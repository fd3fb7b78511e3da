// `strata stamp`: turns a user's tree into stub form in place. Each large
// file's data moves by rename into an object directory under its fs-verity
// digest (or is dropped when the directory has it), and a stub with the
// file's metadata takes its place, so `lowerdir=TREE::OBJECTS,userxattr`
// mounts without strata. `import --move` is the same path into the store.
import {constants as C, linkSync, lstatSync, mkdirSync, renameSync, unlinkSync} from 'node:fs'
import {join} from 'node:path'
import {randomBytes} from 'node:crypto'
import type {Home} from '../store/home.js'
import {ObjectStore, copySparse} from '../store/objects.js'
import {isWithin, makeDirs, removeTree} from '../store/fsutil.js'
import {sys} from '../sys.js'
import {integrity, notFound, usage} from '../errors.js'
import {METACOPY, decodeMetacopy, isStructural, unescapeName} from '../format/xattrs.js'
import {abs, entryOf} from '../layer/scan.js'
import {displayPath} from '../format/entry.js'
import {inodeOf, isDir, walkTree} from '../walk.js'
import {TreeWriter} from '../layer/writer.js'
import type {Meta} from '../format/entry.js'
import {DEFAULT_INLINE_LIMIT, checkStoreApart, importDir, type ImportOptions} from './dir.js'
import type {ImportResult} from '../layer/publish.js'

export interface StampResult {
  tree: string
  objects: string
  action: 'stamp' | 'check' | 'undo'
  files: number // regular files turned into stubs, checked, or restored
  moved: number // objects moved in by rename (zero-copy)
  stored: number // objects new to the directory (moved or copied)
  dropped: number // files whose content the directory already had
  bytes: number
  problems: string[]
}

interface Found {files: Map<string, Buffer[]>; dirs: {rel: Buffer; atimeNs: bigint; mtimeNs: bigint}[]}

/**
 * Regular files (grouped by inode, for hardlinks) and every directory's times,
 * before anything changes; the directory `leave` (dev:ino: the object
 * directory, when it is inside the tree) is left out, or its objects would be
 * stamped into themselves.
 */
function walk(root: string, want: (p: Buffer) => boolean, leave: string): Found {
  const found: Found = {files: new Map(), dirs: []}
  for (const [rel, e] of walkTree(root, {prune: (_, e) => isDir(e) && inodeOf(e[9]) === leave, order: (a, b) => Buffer.compare(a[0], b[0])})) {
    if (isDir(e)) found.dirs.push({rel, atimeNs: e[7], mtimeNs: e[8]})
    else if ((e[1] & C.S_IFMT) === C.S_IFREG && want(abs(root, rel))) {
      const key = inodeOf(e[9])
      found.files.set(key, [...(found.files.get(key) ?? []), rel])
    }
  }
  return found
}

const digestOf = (p: Buffer): string | null => {
  const v = sys.getxattr(p, METACOPY)
  return v ? decodeMetacopy(v) : null
}

function checkTree(tree: string) {
  let st
  try {
    st = lstatSync(tree)
  } catch {
    throw notFound(`no such directory: ${tree}`, 'give the tree to stamp')
  }
  if (!st.isDirectory()) throw usage(`${tree} is not a directory`, 'give the tree to stamp')
}

export async function stamp(tree: string, objectsDir: string, a: {inlineLimit?: number; check?: boolean; undo?: boolean; tmp?: string}): Promise<StampResult> {
  checkTree(tree)
  if (a.check && a.undo) throw usage('--check and --undo go separately', 'check first, then undo')
  makeDirs(objectsDir, 0o755)
  if (isWithin(tree, objectsDir)) throw usage(`${tree} is inside the object directory ${objectsDir}`, 'give --objects a directory that is neither the tree nor above it')
  const leave = inodeOf(sys.scanEntry(objectsDir)[9])
  const ownTmp = !a.tmp
  const tmp = a.tmp ?? join(objectsDir, `.strata-tmp-${randomBytes(6).toString('hex')}`)
  mkdirSync(tmp, {recursive: true, mode: 0o700})
  const store = new ObjectStore(objectsDir, tmp)
  const writer = new TreeWriter(tree)
  const r: StampResult = {tree, objects: objectsDir, action: a.check ? 'check' : a.undo ? 'undo' : 'stamp', files: 0, moved: 0, stored: 0, dropped: 0, bytes: 0, problems: []}
  const limit = a.inlineLimit ?? DEFAULT_INLINE_LIMIT
  try {
    if (a.check || a.undo) {
      const found = walk(tree, (p) => digestOf(p) !== null, leave)
      const verified = new Set<string>()
      for (const [first] of found.files.values()) {
        const p = abs(tree, first)
        const d = digestOf(p)!
        const size = lstatSync(p).size
        r.files++
        r.bytes += size
        if (verified.has(d)) continue
        if (!store.has(d)) r.problems.push(`${displayPath(first)}: object ${d.slice(0, 16)}… is missing`)
        else if (store.size(d) !== size) r.problems.push(`${displayPath(first)}: object ${d.slice(0, 16)}… has ${store.size(d)} bytes, the stub ${size}`)
        else if (!store.verify(d)) r.problems.push(`${displayPath(first)}: object ${d.slice(0, 16)}… does not match its digest`)
        verified.add(d)
      }
      if (r.problems.length)
        throw integrity(`${tree}: ${r.problems.length} stub${r.problems.length > 1 ? 's' : ''} can't be read from ${objectsDir}: ${r.problems[0]}`, a.undo ? 'nothing was changed; restore the objects first' : 'restore the objects, or stamp the original tree again')
      if (a.check) return r
      // an object may back other files (here or elsewhere): undo copies (reflinks where it can), the directory keeps it
      for (const group of found.files.values()) {
        // the data back in a fresh file with the stub's metadata, renamed over the stub
        const [first, ...others] = group
        const p = abs(tree, first)
        const e = entryOf(p, first, sys.scanEntry(p))
        const t = Buffer.concat([p, Buffer.from(`.strata-undo-${randomBytes(4).toString('hex')}`)])
        copySparse(store.path(e.digest!), t)
        writer.apply(t, e, true)
        renameSync(t, p)
        for (const o of others) relink(tree, first, o)
      }
      restoreDirTimes(tree, found)
    } else {
      const found = walk(tree, (p) => lstatSync(p).size > limit && digestOf(p) === null, leave)
      for (const [first, ...others] of found.files.values()) {
        const p = abs(tree, first)
        const st = lstatSync(p, {bigint: true})
        const meta: Meta = {mode: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid), mtimeNs: st.mtimeNs, atimeNs: st.atimeNs, xattrs: ownXattrs(p)}
        const ino = st.ino
        const put = store.adopt(p)
        if (put.stored) {
          r.stored++
          if (lstatSync(store.path(put.digest), {bigint: true}).ino === ino) r.moved++
        } else r.dropped++
        writer.stub(first, meta, put.digest, put.size)
        for (const o of others) relink(tree, first, o)
        r.files++
        r.bytes += put.size
      }
      restoreDirTimes(tree, found)
      return r
    }
    return r
  } finally {
    if (ownTmp) removeTree(tmp)
  }
}

function relink(tree: string, first: Buffer, other: Buffer) {
  unlinkSync(abs(tree, other))
  linkSync(abs(tree, first), abs(tree, other))
}

/** Replacing files touched their directories' times: put them back, deepest first. */
function restoreDirTimes(tree: string, found: Found) {
  for (const d of [...found.dirs].reverse()) sys.utimens(abs(tree, d.rel), d.atimeNs, d.mtimeNs)
}

function ownXattrs(p: Buffer): [string, Buffer][] {
  const out: [string, Buffer][] = []
  for (const name of sys.listxattr(p).sort()) {
    if (!name.startsWith('user.') || isStructural(name)) continue
    const v = sys.getxattr(p, name)
    if (v !== null) out.push([unescapeName(name), v])
  }
  return out
}

/**
 * `import --move DIR`: stamps DIR into the store's objects (rename, so zero-copy
 * on the same filesystem), imports the stamped tree (its stubs as they are),
 * then removes DIR.
 */
export async function importMove(home: Home, dir: string, opts: ImportOptions): Promise<ImportResult & {moved: number}> {
  checkTree(dir)
  home.ensure()
  checkStoreApart(home, dir, true)
  const s = await stamp(dir, home.objects, {inlineLimit: opts.inlineLimit, tmp: home.tmp})
  const r = await importDir(home, dir, {...opts, acceptStubs: true})
  removeTree(dir)
  return {...r, moved: s.moved}
}
