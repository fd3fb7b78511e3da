// The light half of sessions: where a session's state file is, what it holds,
// whether its holder still runs, and how to join it. Node's own modules only:
// `strata exec` uses this on its start-up path, before (instead of) oclif.
import {spawn} from 'node:child_process'
import {readFileSync, readlinkSync, statSync} from 'node:fs'
import {constants as osConstants} from 'node:os'
import {sha256Hex} from '../sha256.js'
import {join, posix} from 'node:path'
import {type Home, runtimeDir} from '../store/home.js'
import type {Mapping} from './idmap.js'
import {StrataError, environment, usage, type ErrorCode, type ErrorJSON} from '../errors.js'
import {userEnv} from '../exec.js'
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

/** What `exec -e/-w/--user` asks of a join, already checked (exec-options.ts): set over the command's environment, a directory of the stack (absolute), an id inside a root session. */
export interface JoinOptions {
  env?: Record<string, string>
  workdir?: string
  user?: string
}

/** A joined command: what to run, its environment, and whether it reports a setup failure on fd 3 (strata-ns's `error KIND MESSAGE`). */
export interface Joined {
  argv: string[]
  env: NodeJS.ProcessEnv
  statusFd: boolean
  /** a plain join: the command's name and the directory it starts in, looked up first (commandMissing) */
  look?: {pid: number; name: string; dir: string}
}

/** A plain session joined by nsenter: the caller's environment (and -e over it), in DIR of the merged view. */
export function plainJoin(s: Session, argv: string[], dir = s.mountpoint, env: NodeJS.ProcessEnv = userEnv(process.env)): Joined {
  return {argv: joinArgv(s, argv, dir), env, statusFd: false, look: {pid: s.pid, name: argv[0], dir}}
}

/**
 * Whether a plain join's command is certainly not there, looked up as execvp
 * will inside (PATH, or the path given, from the directory it starts in),
 * through the holder's /proc/PID/root: a plain session's root is the host's,
 * with the stack mounted. Any answer but "no such file" (a FUSE view closed
 * to the host, a directory closed to us) leaves the lookup to the command,
 * so this never refuses what would run; what it finds missing gets strata's
 * wording (`strata: NAME: command not found`, 127) and not nsenter's.
 */
export function commandMissing(look: NonNullable<Joined['look']>, path: string | undefined): boolean {
  const absent = (p: string) => {
    try {
      statSync(`/proc/${look.pid}/root${p}`)
      return false
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      return code === 'ENOENT' || code === 'ENOTDIR'
    }
  }
  if (!look.name) return false
  if (look.name.includes('/')) return absent(posix.resolve(look.dir, look.name))
  const dirs = (path ?? '/usr/local/bin:/usr/bin:/bin').split(':')
  return dirs.every((d) => absent(posix.join(posix.resolve(look.dir, d || '.'), look.name)))
}

/**
 * How `exec`/`shell` join a session: a plain one as joinArgv, with the caller's
 * environment; a root one inside its sandbox — its user, mount, pid, uts (and
 * with --net none, net) namespaces, chrooted into the merged view, in the
 * session's workdir, as its user, with its environment (and the joiner's TERM:
 * the terminal is the joiner's). `opts` (exec's -e, -w, --user) go over those.
 * The chroot of a record from before strata-ns is `unshare --root --wd` run
 * once inside (as `run --root` did), not nsenter's --root: nsenter opens that
 * directory before it switches namespaces, from the host, and a FUSE mount
 * (the fuse backend) refuses processes outside its user namespace.
 */
export function joinCommand(s: Session, argv: string[], opts: JoinOptions = {}, hostEnv: NodeJS.ProcessEnv = process.env): Joined {
  const sb = s.sandbox
  if (!s.root || !sb) {
    // checked by the caller (exec-options.ts): a plain session runs everything as the user
    if (opts.user !== undefined) throw usage('--user needs a root session', `mount the stack with \`strata mount --root ${s.stack}\``)
    return plainJoin(s, argv, opts.workdir ? posix.join(s.mountpoint, opts.workdir) : s.mountpoint, {...userEnv(hostEnv), ...opts.env})
  }
  const env: NodeJS.ProcessEnv = {...sb.env}
  if (hostEnv.TERM) env.TERM = hostEnv.TERM
  Object.assign(env, opts.env)
  const workdir = opts.workdir ?? sb.workdir
  const user = opts.user ?? sb.user
  if (sb.caps && sb.seccomp) {
    // strata-ns joins the holder's namespaces itself, then holds the command as `run --root` does
    const a = [nsHelper(), '--join', String(s.pid), '--root', s.mountpoint, '--wd', workdir, '--caps', sb.caps, '--watch', String(process.pid), '--status-fd', '3']
    if (user) a.push('--user', user)
    if (sb.seccomp === 'off') a.push('--seccomp', 'off')
    else {
      a.push('--seccomp-default', sb.seccomp.defaultAction)
      for (const r of sb.seccomp.rules) a.push('--rule', r)
    }
    return {argv: [...a, '--', ...argv], env, statusFd: true}
  }
  if (opts.user !== undefined) throw usage(`--user needs a root session started by this strata (${s.stack}'s is older)`, `remount it: \`strata umount ${s.stack} && strata mount --root ${s.stack}\``)
  const ns = ['-U', '-m', ...nsenterFlags(sandboxNamespaces(sb.net, true))]
  const chroot = [hostTool('unshare'), `--root=${s.mountpoint}`, `--wd=${workdir}`, '--']
  return {argv: [hostTool('nsenter'), '-t', String(s.pid), ...ns, '--preserve-credentials', '--', ...chroot, ...argv], env, statusFd: false}
}

/** What strata-ns refused, as strata says it: its kind, its message, and the fix. */
function joinFailure(kind: ErrorCode, message: string): StrataError {
  if (kind === 'environment') return new StrataError(kind, message, 'run `strata doctor` to see what this machine enforces')
  // strata-ns says "no directory" for any chdir failure: one closed to the command's user is there
  const closed = /^no directory (.*) in the stack: Permission denied$/.exec(message)
  if (closed) return usage(`the command's user may not enter ${closed[1]} (permission denied)`, 'give -w/--workdir a directory that user may enter, or another --user')
  if (kind === 'not_found') return new StrataError(kind, message, message.startsWith('no directory') ? 'give -w/--workdir a directory that exists in the stack' : 'see `strata ps`; mount the stack again')
  if (message.startsWith('--user')) return new StrataError(kind, message, "give an id the store's mapping has: 0 alone under `single`, your subordinate range's under `auto` (see `strata doctor`)")
  return new StrataError(kind, message, 'correct the option')
}

/**
 * Runs a joined command with the terminal (SIGINT and SIGQUIT are the
 * command's, not ours) and returns its status (128+signal when killed); a setup
 * failure that strata-ns reports on fd 3 comes back as `failed`, the command
 * not having started. A joiner that can't start at all is 127/126, as shells say.
 */
export async function runJoined(j: Joined): Promise<{status: number; signal: string | null; failed?: StrataError}> {
  if (j.look && commandMissing(j.look, j.env.PATH)) {
    process.stderr.write(`strata: ${j.look.name}: command not found\n`)
    return {status: 127, signal: null}
  }
  const ignore = () => {}
  process.on('SIGINT', ignore)
  process.on('SIGQUIT', ignore)
  return new Promise<{status: number; signal: string | null; failed?: StrataError}>((resolve) => {
    const child = spawn(j.argv[0], j.argv.slice(1), {cwd: '/', env: j.env, stdio: ['inherit', 'inherit', 'inherit', ...(j.statusFd ? (['pipe'] as const) : [])]})
    let said = ''
    const closed = j.statusFd ? new Promise((r) => child.stdio[3]!.on('data', (d: Buffer) => (said += d.toString())).on('close', r)) : Promise.resolve()
    child.on('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'ENOENT' ? 'command not found' : e.code === 'EACCES' ? 'permission denied' : e.message
      process.stderr.write(`strata: ${j.argv[0]}: ${why}\n`)
      resolve({status: e.code === 'ENOENT' ? 127 : 126, signal: null})
    })
    child.on('exit', (code, signal) => {
      void closed.then(() => {
        const m = /^error (\w+) (.*)$/m.exec(said)
        const status = code ?? 128 + ((osConstants.signals as Record<string, number>)[signal ?? ''] ?? 0)
        if (code === 125 && m) resolve({status, signal, failed: joinFailure(m[1] as ErrorCode, m[2])})
        else resolve({status, signal})
      })
    })
  }).finally(() => {
    process.off('SIGINT', ignore)
    process.off('SIGQUIT', ignore)
  })
}

/**
 * The merged view as the same user's host tools see it: through the holder's
 * root, into its mount namespace. None for a fuse-overlayfs session: FUSE
 * refuses every process outside the mount's user namespace, the owner's own
 * tools included, so such a path would only say `Permission denied`.
 */
export const rootPath = (s: Session): string | null => (s.backend === 'fuse' ? null : `/proc/${s.pid}/root${s.mountpoint}`)

/** Why a session has no host path, and what to use instead (rootPath). */
export const noHostPath = (s: Session) =>
  environment(`stack '${s.stack}' is mounted with fuse-overlayfs, whose files no process outside the session can open`, `use \`strata exec ${s.stack} -- CMD\` or \`strata shell ${s.stack}\`, or a stack with the kernel backend`)

