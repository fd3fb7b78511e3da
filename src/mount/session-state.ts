// The light half of sessions: where a session's state file is, what it holds,
// whether its holder still runs, and how to join it. Node's own modules only:
// `strata exec` uses this on its start-up path, before (instead of) oclif.
import {readFileSync, readlinkSync} from 'node:fs'
import {createHash} from 'node:crypto'
import {join} from 'node:path'
import {type Home, runtimeDir} from '../store/home.js'
import type {Mapping} from '../ns/idmap.js'
import type {ErrorJSON} from '../cli/errors.js'

export interface Session {
  stack: string
  pid: number
  backend: string
  since: string
  mountpoint: string
  mapping: Mapping
  /** /proc/PID/stat field 22: tells the holder from a later process that got its pid */
  starttime: string
  /** the holder's namespaces (`mnt:[…]`, `user:[…]`): how umount finds what is left in them */
  mntns: string
  userns: string
  log: string
}

export type SessionState = 'running' | 'stale'

/** What the holder prints on its readiness pipe. */
export type HolderReport = {ok: true} | {ok: false; error: ErrorJSON}

/** Start time of a process (clock ticks since boot), or null if it is gone (or a zombie). */
export function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // comm may hold spaces and parens: fields resume after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (fields[0] === 'Z' || fields[0] === 'X') return null // dead, not yet reaped
    return fields[19] ?? null
  } catch {
    return null
  }
}

export function nsOf(pid: number | 'self', ns: 'mnt' | 'user'): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/${ns}`)
  } catch {
    return null
  }
}

/** Where a store's sessions are recorded: keyed by the store, since two stores may each have a stack of the same name. */
export function sessionsDir(home: Home): string {
  return join(runtimeDir(), 'sessions', createHash('sha256').update(home.root).digest('hex').slice(0, 16))
}

export function sessionFile(home: Home, stack: string): string {
  return join(sessionsDir(home), `${stack}.json`)
}

export function readSession(home: Home, stack: string): Session | null {
  try {
    return JSON.parse(readFileSync(sessionFile(home, stack), 'utf8')) as Session
  } catch {
    return null
  }
}

export const isRunning = (s: Session) => startTime(s.pid) === s.starttime

/** nsenter arguments that run argv in the session's namespaces, in DIR of the merged view. */
export function joinArgv(s: Session, argv: string[], dir = s.mountpoint): string[] {
  return ['nsenter', '-U', '-m', '-t', String(s.pid), '--preserve-credentials', `--wdns=${dir}`, '--', ...argv]
}
