// Small filesystem helpers the store shares.
import {existsSync, realpathSync, renameSync, rmSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {randomBytes} from 'node:crypto'
import {mkdirSync} from 'node:fs'

/** Whether the existing path inner is dir or below it, as real paths (symlinks hide neither). */
export function isWithin(inner: string, dir: string): boolean {
  const a = realpathSync(inner)
  const b = realpathSync(dir)
  return a === b || a.startsWith(b === '/' ? '/' : b + '/')
}

/**
 * mkdir -p, naming the real reason when it can't: node's recursive mkdir
 * says ENOENT where the filesystem is read-only, so the first missing
 * directory is made once more, plainly, to get EROFS (or EACCES).
 */
export function makeDirs(path: string, mode: number) {
  try {
    mkdirSync(path, {recursive: true, mode})
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    let first = path
    while (!existsSync(dirname(first)) && dirname(first) !== first) first = dirname(first)
    mkdirSync(first, {mode})
    throw e
  }
}

/** Removes a tree whatever its modes (run inside the namespace, where we own it). */
export function removeTree(p: string | Buffer) {
  rmSync(p, {recursive: true, force: true})
}

/** A fresh directory under tmp/ for staging; the caller publishes it by rename. */
export function stagingDir(tmp: string, kind: string): string {
  const d = join(tmp, `${kind}-${process.pid}-${randomBytes(6).toString('hex')}`)
  mkdirSync(d, {recursive: true, mode: 0o700})
  return d
}

/**
 * A rebuildable cache entry (composed or flat tree): built into staging by
 * build(root), published at target by rename. Two builders racing both
 * succeed: the loser's copy is dropped.
 */
export function buildCached(tmp: string, kind: string, target: string, build: (root: string) => void): string {
  if (existsSync(target)) return target
  const staging = stagingDir(tmp, kind)
  const root = join(staging, 'tree')
  try {
    build(root)
    renameSync(root, target)
  } catch (e) {
    if (!existsSync(target)) throw e
  } finally {
    removeTree(staging)
  }
  return target
}
