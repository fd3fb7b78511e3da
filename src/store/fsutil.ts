// Small filesystem helpers the store shares, and the one way anything is
// published in it: by rename (publish) or by an atomic swap (exchange).
import {existsSync, readdirSync, realpathSync, renameSync, rmSync, unlinkSync, writeFileSync, writeSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {randomBytes} from 'node:crypto'
import {mkdirSync} from 'node:fs'
import {sys} from '../sys.js'
import {tracer} from '../trace.js'

const trace = tracer('strata:fs')

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

/**
 * Removes staging after a failure or once it is spent. Never throws: its
 * own errors must not replace the cause the caller reports (what it can't
 * remove is left for `check --repair` and gc). Callers stop every worker
 * and writer first, so nothing lands in the tree while it goes.
 */
export function discard(p: string | Buffer) {
  try {
    rmSync(p, {recursive: true, force: true, maxRetries: 2})
  } catch (e) {
    trace('could not remove %s: %s', p, (e as Error).message)
  }
}

/** A fresh directory under tmp/ for staging; the caller publishes it by rename. */
export function stagingDir(tmp: string, kind: string): string {
  const d = stagingName(tmp, kind)
  mkdirSync(d, {recursive: true, mode: 0o700})
  return d
}

/** Staging under tmp/ whose command is gone (its pid, in its name, runs no more): what a killed command left. */
export function leftoverStaging(tmp: string): string[] {
  const out: string[] = []
  for (const n of existsSync(tmp) ? readdirSync(tmp) : []) {
    const pid = Number(/-(\d+)-/.exec(n)?.[1])
    if (pid && existsSync(`/proc/${pid}`)) continue
    out.push(join(tmp, n))
  }
  return out
}

/** A staging name under tmp/ (pid-named, as `check` and gc tell leftovers by). */
export const stagingName = (tmp: string, kind: string) => join(tmp, `${kind}-${process.pid}-${randomBytes(6).toString('hex')}`)

/** writeFileSync, whose errors name the file (node's name none when the write itself fails: a full disk). */
export function writeFileAt(file: string | Buffer, data: string | Buffer, opts?: {flag?: string; mode?: number}) {
  try {
    writeFileSync(file, data, opts)
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    if (err && typeof err === 'object' && err.code && !err.path) err.path = file.toString()
    throw e
  }
}

/**
 * Writes a small file whole or not at all: into tmp (the store's tmp/, or
 * beside the file; the same filesystem), then published at file by rename.
 * A failed write leaves nothing behind. The one atomic write: every record
 * (docs/design.md, Records) is written so. step: the publishing step it is
 * (the crash test's hook), or null for a file outside the store (runtime state).
 */
export function writeAtomic(file: string, data: string | Buffer, tmp: string, step: string | null, mode?: number) {
  const t = stagingName(tmp, 'record')
  try {
    writeFileAt(t, data, mode === undefined ? undefined : {mode})
    if (step === null) renameSync(t, file)
    else publish(t, file, step)
  } catch (e) {
    try {
      unlinkSync(t)
    } catch {}
    throw e
  }
}

let steps = 0
/**
 * The crash test's hook (test/crash.test.js): with STRATA_TEST_CRASH_AT set
 * to N or to a step's name, this process kills itself with SIGKILL on entry
 * to its Nth publishing step (or to that step), as a crash or the OOM killer
 * would. Every publishing rename and swap passes here.
 */
function crashPoint(step: string) {
  const at = process.env.STRATA_TEST_CRASH_AT
  if (!at) return
  steps++
  if (at !== String(steps) && at !== step) return
  writeSync(2, `strata: test crash at step ${steps} (${step})\n`)
  process.kill(process.pid, 'SIGKILL')
}

/** Publishes from at to by rename: the one way anything appears in the store (step names it for the crash test). */
export function publish(from: string | Buffer, to: string | Buffer, step: string) {
  crashPoint(step)
  renameSync(from, to)
}

/**
 * Swaps a and b in one atomic step (renameat2 RENAME_EXCHANGE): a crash
 * leaves both as they were or both swapped. False where the filesystem
 * can't (the caller then goes the journaled way); other errors are thrown.
 */
export function exchange(a: string, b: string, step: string): boolean {
  crashPoint(step)
  if (process.env.STRATA_TEST_NO_EXCHANGE) return false
  try {
    sys.exchange(a, b)
    return true
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EINVAL' || code === 'ENOSYS' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') return false
    throw e
  }
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
    discard(staging)
  }
  return target
}
