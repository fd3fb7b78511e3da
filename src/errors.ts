import {filesystemOf} from './fstype.js'

// The error taxonomy every command shares. Each kind carries the documented
// exit code (docs/design.md, Errors and exit codes), a one-line message naming the thing, and a hint naming the fix.

export const Exit = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  notFound: 3,
  conflict: 4,
  environment: 5,
  integrity: 6,
} as const

export type ErrorCode =
  | 'usage'
  | 'not_found'
  | 'conflict'
  | 'environment'
  | 'integrity'
  | 'unexpected'

const exitOf: Record<ErrorCode, number> = {
  usage: Exit.usage,
  not_found: Exit.notFound,
  conflict: Exit.conflict,
  environment: Exit.environment,
  integrity: Exit.integrity,
  unexpected: Exit.unexpected,
}

export class StrataError extends Error {
  readonly code: ErrorCode
  readonly hint?: string
  readonly exit: number

  constructor(code: ErrorCode, message: string, hint?: string) {
    super(message)
    this.code = code
    this.hint = hint
    this.exit = exitOf[code]
  }

  toJSON(): ErrorJSON {
    return {code: this.code, message: this.message, hint: this.hint ?? null, exit: this.exit}
  }

  static fromJSON(j: ErrorJSON): StrataError {
    return new StrataError(j.code, j.message, j.hint ?? undefined)
  }
}

export interface ErrorJSON {
  code: ErrorCode
  message: string
  hint: string | null
  exit: number
}

export const usage = (message: string, hint?: string) => new StrataError('usage', message, hint)
export const notFound = (message: string, hint?: string) => new StrataError('not_found', message, hint)
/** A not-found error: what a reader meets when a remover took the thing away under it (docs/design.md, Locking). */
export const isNotFound = (e: unknown): e is StrataError => e instanceof StrataError && e.code === 'not_found'
export const conflict = (message: string, hint?: string) => new StrataError('conflict', message, hint)
export const environment = (message: string, hint = 'run `strata doctor` to see what this machine supports') =>
  new StrataError('environment', message, hint)
export const integrity = (message: string, hint = 'run `strata check --repair`') =>
  new StrataError('integrity', message, hint)

/** errno values that mean the machine can't go on (the disk, the filesystem), whatever was being done. */
const ENVIRONMENT_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO'])
export const isEnvironmentErrno = (e: unknown) => !!e && typeof e === 'object' && ENVIRONMENT_ERRNOS.has((e as NodeJS.ErrnoException).code ?? '')

/**
 * Of a failure recorded earlier (a worker's) and the one just thrown, the
 * one to report: a full disk or an I/O error first, since what fails after it
 * fails because of it; otherwise the earlier one.
 */
export function firstCause(recorded: unknown, thrown: unknown): unknown {
  if (recorded !== undefined && (isEnvironmentErrno(recorded) || !isEnvironmentErrno(thrown))) return recorded
  return thrown
}

/** Any thrown value as a StrataError: known kinds pass through, the rest are bugs. */
export function asStrataError(e: unknown): StrataError {
  if (e instanceof StrataError) return e
  const err = e as NodeJS.ErrnoException
  // a path this user may not write or change (given by them, or STRATA_HOME): theirs to fix, not a bug
  const path = err && typeof err === 'object' ? (Buffer.isBuffer(err.path) ? (err.path as Buffer).toString() : err.path) : undefined
  const at = path ? ` (${err.syscall ?? 'writing'} ${path})` : ''
  if (err && typeof err === 'object' && err.code === 'ENOSPC')
    return environment(`no space left on device${at}`, 'free some space on that filesystem (`strata gc` removes what nothing uses), or choose a store with room (STRATA_HOME)')
  if (err && typeof err === 'object' && err.code === 'EDQUOT')
    return environment(`disk quota exceeded${at}`, 'free some space within your quota (`strata gc` removes what nothing uses), or choose a store elsewhere (STRATA_HOME)')
  if (err && typeof err === 'object' && err.code === 'EIO')
    return environment(`input/output error${at}`, 'the disk or filesystem there is failing (the kernel log says how: dmesg, as root): copy off what you need, then run `strata check`')
  if (path && (err.code === 'EACCES' || err.code === 'EPERM'))
    return usage(`${err.syscall ?? 'access'} ${path}: ${err.code === 'EACCES' ? 'permission denied' : 'operation not permitted'}`, 'check the permissions of that path and its parents, or choose another (STRATA_HOME for the store)')
  if (err && typeof err === 'object' && (err.code === 'EOPNOTSUPP' || err.code === 'ENOTSUP') && /xattr/.test(`${err.syscall ?? ''} ${err.message ?? ''}`)) {
    const where = path ?? process.env.STRATA_HOME
    let fs = 'its filesystem'
    try {
      if (where) fs = filesystemOf(where).type
    } catch {}
    return environment(
      `${where ? `${where} is on ${fs}, which` : "the store's filesystem"} does not keep user xattrs (EOPNOTSUPP), and a store needs them for stubs, owners and whiteouts`,
      'put STRATA_HOME on a filesystem that keeps them (ext4, xfs, btrfs, tmpfs on Linux ≥ 6.6), or import with a larger --inline-limit (files stored whole)',
    )
  }
  if (path && err.code === 'EROFS') return environment(`${err.syscall ?? 'write'} ${path}: read-only file system`, 'choose a writable place (STRATA_HOME for the store)')
  const message = err instanceof Error ? err.message : String(e)
  return new StrataError('unexpected', message.split('\n')[0], 'this is a bug in strata; rerun with DEBUG=strata:* and report it')
}
