// Small filesystem helpers the store shares.
import {existsSync, realpathSync, rmSync} from 'node:fs'
import {dirname} from 'node:path'
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
