// Staging (docs/design.md, Locking): everything is built under tmp/ and
// published by rename. Each staging entry is named `<kind>-<random>` and its
// writer holds an exclusive flock on it for as long as it works there, so
// what is a leftover is decided by that lock and not by a pid (which a pid
// namespace fakes: a sandbox's writer is pid 1, alive forever to the host).
// A remover that renames a layer or stack out into tmp/ does so holding its
// exclusive lock, which moves with the inode: the same rule covers it.
import {existsSync, lstatSync, mkdirSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {InodeLock} from './lock.js'
import {discard, publish, removeTree, stagingName} from './fsutil.js'

export {stagingName}

/** Locks of this process's staging entries, by path: released when published or at exit (the kernel's part). */
const held = new Map<string, InodeLock>()

/**
 * A fresh directory under tmp/ for staging, locked as ours; the caller
 * publishes it by rename (then releaseStaging) or removes it. A gc that found
 * it between our mkdir and our lock may have taken it for a leftover: we get
 * the lock only once gc is done with it, see that it is gone, and make another.
 */
export function stagingDir(tmp: string, kind: string): string {
  for (;;) {
    const d = stagingName(tmp, kind)
    mkdirSync(d, {recursive: true, mode: 0o700})
    const lock = InodeLock.take(d, true, true)
    if (lock === 'gone' || lock === 'busy') continue
    held.set(d, lock)
    return d
  }
}

/** Our staging entry was published (renamed into place) or removed: its lock goes. */
export function releaseStaging(path: string) {
  held.get(path)?.release()
  held.delete(path)
}

/** Removes our staging entry (never throwing: see fsutil discard) and releases it. */
export function removeStaging(path: string) {
  discard(path)
  releaseStaging(path)
}

/** What can't be locked (no directory or file: nothing of ours) is a leftover without asking. */
const lockable = (path: string) => {
  const st = lstatSync(path, {throwIfNoEntry: false})
  return !st || st.isDirectory() || st.isFile()
}

/** Whether a tmp/ entry is a leftover: its writer is gone (its lock is free). Never blocks. */
export function isLeftover(path: string): boolean {
  if (!lockable(path)) return true
  const l = InodeLock.take(path, true, false)
  if (typeof l === 'string') return false // busy: being worked on; gone: published or removed meanwhile
  l.release()
  return true
}

/** The leftovers under tmp/ now: entries no live writer holds. */
export function leftovers(tmp: string): string[] {
  if (!existsSync(tmp)) return []
  return readdirSync(tmp).map((n) => join(tmp, n)).filter(isLeftover)
}

/**
 * Removes a leftover, holding its lock throughout so that no writer starts
 * using it meanwhile: true if it was one and is gone now, false if a writer
 * holds it (or it went by itself).
 */
export function removeLeftover(path: string): boolean {
  if (!lockable(path)) {
    removeTree(path)
    return true
  }
  const l = InodeLock.take(path, true, false)
  if (typeof l === 'string') return false
  try {
    removeTree(path)
  } finally {
    l.release()
  }
  return true
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
    publish(root, target, kind)
  } catch (e) {
    if (!existsSync(target)) throw e
  } finally {
    removeStaging(staging)
  }
  return target
}
