// The light half of sessions: where a session's state file is, what it holds,
// whether its holder still runs, and how to join it. Node's own modules only:
// `strata exec` uses this on its start-up path, before (instead of) oclif.
import {readFileSync, readlinkSync} from 'node:fs'
import {sha256Hex} from '../sha256.js'
import {join} from 'node:path'
import {type Home, runtimeDir} from '../store/home.js'
import type {Mapping} from './idmap.js'
import {StrataError, type ErrorJSON} from '../errors.js'
import {decodeRecord} from '../format/record.js'
import {nsHelper} from './protections.js'
import {hostTool} from './host-tools.js'

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
  /** a root session: the holder is pid 1 of a sandbox, and joiners run chrooted into it */
  root: boolean
  /** a root session's settings, which every joiner gets */
  sandbox?: SandboxSettings
}

/** What a root session's joiners share: the environment and working directory they start with, and how the sandbox was made. */
export interface SandboxSettings {
  env: Record<string, string>
  workdir: string
  hostname: string
  net: 'host' | 'none' | 'private'
  publish?: Array<{host: number; port: number}>
  volumes: Array<{source: string; target: string; readOnly: boolean}>
  /** what strata-ns holds every joiner's command by (protections.ts); absent in a record from before strata-ns */
  caps?: string
  seccomp?: {defaultAction: string; rules: string[]} | 'off'
  user?: string
}

export type SessionState = 'running' | 'stale'

/**
 * The namespaces a sandbox has of its own besides user and mount (which every
 * strata namespace has): the one list that `run --root` and a root session's
 * holder are started with (unshare) and that joiners enter (nsenter). `run
 * --root` leaves pid and ipc to strata-ns, whose init is its pid 1; a holder
 * is pid 1 of its own, and its execs share its ipc namespace, never the host's. strata-ns --join enters the same set from the holder's /proc.
 */
type SandboxNs = 'uts' | 'pid' | 'ipc' | 'net'
export function sandboxNamespaces(net: SandboxSettings['net'], holder: boolean): SandboxNs[] {
  return ['uts', ...(holder ? (['pid', 'ipc'] as const) : []), ...(net !== 'host' ? (['net'] as const) : [])]
}
const NS_FLAG = {uts: {unshare: '--uts', nsenter: '-u'}, pid: {unshare: '--pid', nsenter: '-p'}, ipc: {unshare: '--ipc', nsenter: '-i'}, net: {unshare: '--net', nsenter: '-n'}}
export const unshareFlags = (ns: SandboxNs[]) => ns.map((n) => NS_FLAG[n].unshare)
export const nsenterFlags = (ns: SandboxNs[]) => ns.map((n) => NS_FLAG[n].nsenter)

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
  return join(runtimeDir(), 'sessions', sha256Hex(home.root).slice(0, 16))
}

export function sessionFile(home: Home, stack: string): string {
  return join(sessionsDir(home), `${stack}.json`)
}

/** A stack's session record; null when there is none (or it is half gone). A newer record than this strata reads is refused. */
export function readSession(home: Home, stack: string): Session | null {
  const file = sessionFile(home, stack)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return null
  }
  let s: Session
  try {
    s = decodeRecord<Session>('session', text, file)
  } catch (e) {
    if (e instanceof StrataError) throw e
    return null
  }
  return {...s, root: s.root === true} // a record from before root sessions
}

export const isRunning = (s: Session) => startTime(s.pid) === s.starttime

/** nsenter arguments that run argv in the session's namespaces, in DIR of the merged view. */
export function joinArgv(s: Session, argv: string[], dir = s.mountpoint): string[] {
  return ['nsenter', '-U', '-m', '-t', String(s.pid), '--preserve-credentials', `--wdns=${dir}`, '--', ...argv]
}

/**
 * How `exec`/`shell` join a session: a plain one as joinArgv; a root one inside
 * its sandbox — its user, mount, pid, uts (and with --net none, net)
 * namespaces, chrooted into the merged view, in the session's workdir, with
 * its environment (and the joiner's TERM: the terminal is the joiner's).
 * The chroot is `unshare --root --wd` run once inside (as `run --root` does),
 * not nsenter's --root: nsenter opens that directory before it switches
 * namespaces, from the host, and a FUSE mount (the fuse backend) refuses
 * processes outside its user namespace.
 */
export function joinCommand(s: Session, argv: string[], hostEnv: NodeJS.ProcessEnv = process.env): {argv: string[]; env: NodeJS.ProcessEnv} {
  if (!s.root || !s.sandbox) return {argv: joinArgv(s, argv), env: hostEnv}
  const ns = ['-U', '-m', ...nsenterFlags(sandboxNamespaces(s.sandbox.net, true))]
  const env: NodeJS.ProcessEnv = {...s.sandbox.env}
  if (hostEnv.TERM) env.TERM = hostEnv.TERM
  const sb = s.sandbox
  if (sb.caps && sb.seccomp) {
    // strata-ns joins the holder's namespaces itself, then holds the command as `run --root` does
    const a = [nsHelper(), '--join', String(s.pid), '--root', s.mountpoint, '--wd', sb.workdir, '--caps', sb.caps, '--watch', String(process.pid)]
    if (sb.user) a.push('--user', sb.user)
    if (sb.seccomp === 'off') a.push('--seccomp', 'off')
    else {
      a.push('--seccomp-default', sb.seccomp.defaultAction)
      for (const r of sb.seccomp.rules) a.push('--rule', r)
    }
    return {argv: [...a, '--', ...argv], env}
  }
  const chroot = [hostTool('unshare'), `--root=${s.mountpoint}`, `--wd=${sb.workdir}`, '--']
  return {argv: [hostTool('nsenter'), '-t', String(s.pid), ...ns, '--preserve-credentials', '--', ...chroot, ...argv], env}
}


/** The merged view as the same user's host tools see it: through the holder's root, into its mount namespace. */
export const rootPath = (s: Session) => `/proc/${s.pid}/root${s.mountpoint}`

