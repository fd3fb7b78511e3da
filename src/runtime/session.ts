// Sessions: a namespace holder keeps a stack mounted between commands.
// `mount` starts the holder (detached, its own session, stdio to a log),
// which mounts the stack in its user+mount namespace and records itself in a
// state file; `exec`/`shell`/`run`/`path` reach the mount through the
// holder's pid; `umount` ends the holder and everything left in its namespace.
import {spawn} from 'node:child_process'
import {startTime, nsOf, sessionFile, sessionsDir, joinCommand, readSession, rootPath, type Joined, type JoinOptions, type Session, type SessionState, type HolderReport, type SandboxSettings} from './session-state.js'
import {closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync} from 'node:fs'
import {encodeRecord} from '../format/record.js'
import {writeAtomic} from '../store/fsutil.js'
import {dirname, join} from 'node:path'
import type {Home} from '../store/home.js'
import {type Mapping, launcherNeedsMap, mapOwnRange, unshareArgs} from './idmap.js'
import {hostTool, toolsEnv, trace} from '../exec.js'
import {conflict, environment, notFound, StrataError} from '../errors.js'
import {StackStore} from '../stack/stacks.js'

export {startTime, nsOf, noHostPath, type Session, type SessionState, type HolderReport, type SandboxSettings} from './session-state.js'

/** What a root session's holder sets up: the sandbox's settings, and the command that starts the holder in its namespaces (ending in `--`). */
export interface RootSessionStart {sandbox: SandboxSettings & {stack: string; netSocket?: string}; launcher: string[]}

/**
 * Pids of processes in both namespaces. Namespace inode numbers are reused once
 * a namespace is gone, so for a dead holder's namespace (`mountpoint` given) a
 * process counts only if the stack is mounted in its view: what makes it ours.
 */
export function processesIn(mntns: string, userns: string, mountpoint?: string): number[] {
  const pids: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const pid = Number(name)
    if (pid === process.pid) continue
    if (nsOf(pid, 'mnt') === mntns && nsOf(pid, 'user') === userns && (!mountpoint || hasOverlayAt(pid, mountpoint))) pids.push(pid)
  }
  return pids
}

/** Whether a process (or 'self') sees an overlay (with fuse: or fuse-overlayfs) mounted at this path (its /proc/PID/mountinfo). */
export function hasOverlayAt(pid: number | 'self', mountpoint: string, fuse = false): boolean {
  const escaped = mountpoint.replace(/[\\ \t\n]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'))
  try {
    return readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
      .split('\n')
      .some((l) => {
        const f = l.split(' ')
        const type = f[f.indexOf('-') + 1]
        return f[4] === escaped && (type === 'overlay' || (fuse && type === 'fuse.fuse-overlayfs'))
      })
  } catch {
    return false
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export class Sessions {
  readonly dir: string
  constructor(readonly home: Home) {
    this.dir = sessionsDir(home)
  }

  file(stack: string) { return sessionFile(this.home, stack) }
  logFile(stack: string) { return join(this.dir, `${stack}.log`) }

  read(stack: string): Session | null {
    return readSession(this.home, stack)
  }

  state(s: Session): SessionState {
    return startTime(s.pid) === s.starttime ? 'running' : 'stale'
  }

  /** The running session of a stack, or null (a stale one is cleaned up on the way). */
  async active(stack: string): Promise<Session | null> {
    const s = this.read(stack)
    if (!s) return null
    if (this.state(s) === 'running') return s
    await this.cleanStale(s)
    return null
  }

  /** The running session of a stack, or a not-found error saying how to start one. */
  async require(stack: string): Promise<Session> {
    new StackStore(this.home).get(stack) // unknown stack: say that first
    const s = await this.active(stack)
    if (!s) throw notFound(`stack '${stack}' is not mounted`, `mount it first: \`strata mount ${stack}\``)
    return s
  }

  list(): Array<Session & {state: SessionState}> {
    if (!existsSync(this.dir)) return []
    return readdirSync(this.dir)
      .filter((n) => n.endsWith('.json'))
      .map((n) => this.read(n.slice(0, -5)))
      .filter((s): s is Session => s !== null)
      .map((s) => ({...s, state: this.state(s)}))
      .sort((a, b) => a.stack.localeCompare(b.stack))
  }

  /**
   * What would change a stack's upper under its session (stack rm, commit,
   * reset) refuses while it is mounted, unless told to stop the session first.
   */
  /** Refuses a mounted stack, or with force stops its session: the session stopped, if any, for the caller to say so. */
  async ensureUnmounted(stack: string, force: boolean): Promise<Session | undefined> {
    const s = await this.active(stack)
    if (!s) return undefined
    if (!force) throw conflict(`stack '${stack}' is mounted (session pid ${s.pid})`, `unmount it first (\`strata umount ${stack}\`), or pass --force to stop the session`)
    await this.stop(s)
    return s
  }

  /** Starts a holder for the stack (with `root`, as pid 1 of a sandbox); resolves once the stack is mounted. */
  async start(stack: string, mapping: Mapping, root?: RootSessionStart): Promise<Session> {
    const info = new StackStore(this.home).get(stack)
    const running = await this.active(stack)
    if (running)
      throw conflict(
        `stack '${stack}' is already mounted (session pid ${running.pid}, since ${running.since}${this.path(running) ? `, at ${this.path(running)}` : ''})`,
        `use it with \`strata exec ${stack} -- CMD\`, or stop it with \`strata umount ${stack}\``,
      )
    const lock = join(this.dir, `${stack}.starting`)
    for (let tries = 1; ; tries++) {
      mkdirSync(this.dir, {recursive: true, mode: 0o700})
      try {
        mkdirSync(lock)
        break
      } catch (e) {
        // the umount of this store's last session removes the emptied directory: it may do so between the two
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' && tries < 5) continue
        throw conflict(`stack '${stack}' is being mounted by another strata`, `wait for it, then \`strata ps\`; if none is running, remove ${lock}`)
      }
    }
    try {
      const log = this.logFile(stack)
      const logFd = openSync(log, 'w', 0o600)
      const holder = new URL('./holder.js', import.meta.url).pathname
      const stateFile = this.file(stack)
      const args = {home: this.home.root, stack, mapping, stateFile, log, sandbox: root?.sandbox}
      const launcher = root?.launcher ?? ['unshare', ...unshareArgs(mapping), '--']
      const argv = [...launcher.slice(1), process.execPath, holder, JSON.stringify(args)]
      trace('%s %o (detached)', launcher[0], argv)
      // detached: setsid, so no terminal and no signals from ours; fd 3 says when it is ready
      const child = spawn(hostTool(launcher[0]), argv, {
        detached: true,
        cwd: '/',
        stdio: ['ignore', logFd, logFd, 'pipe'],
        env: {...process.env, ...toolsEnv()},
      })
      closeSync(logFd)
      // a namespace of our own range: its ids are ours to write (idmap.ts); the holder waits for them
      let ended = false
      child.on('exit', () => (ended = true))
      if (launcherNeedsMap(launcher) && child.pid) await mapOwnRange(child.pid, () => ended).catch((e) => (child.kill('SIGKILL'), Promise.reject(e)))
      const report = await new Promise<HolderReport | null>((resolve) => {
        let text = ''
        const pipe = child.stdio[3] as NodeJS.ReadableStream
        const done = () => {
          try {
            resolve(JSON.parse(text) as HolderReport)
          } catch {
            resolve(null)
          }
        }
        pipe.setEncoding('utf8')
        // one line; a launcher that forks (`unshare --fork`) keeps its copy of the pipe open
        pipe.on('data', (d: string) => {
          text += d
          if (text.includes('\n')) done()
        })
        pipe.on('end', done)
        pipe.on('error', () => resolve(null))
        child.on('error', () => resolve(null))
      })
      child.unref()
      ;(child.stdio[3] as unknown as {destroy(): void}).destroy()
      if (!report) {
        const said = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').pop() : ''
        throw environment(`could not start a session for '${stack}'${said ? `: ${said}` : ''}`, `see ${log}, or run \`strata doctor\``)
      }
      if (!report.ok) throw StrataError.fromJSON(report.error)
      const s = this.read(stack)
      if (!s) throw environment(`the session of '${stack}' started but left no state file`, `see ${log}`)
      void info
      return s
    } finally {
      rmSync(lock, {recursive: true, force: true})
    }
  }

  /** Written by the holder, inside its namespace, once the stack is mounted. */
  static record(stateFile: string, s: Session) {
    writeAtomic(stateFile, encodeRecord('session', s), dirname(stateFile), null, 0o600)
  }

  /** The merged view as the same user's host tools see it. */
  /** The host path of a session's merged view; null where there is none (rootPath). */
  path(s: Session): string | null {
    return rootPath(s)
  }

  /** Ends the holder and every process left in its namespaces; waits until they are gone. */
  async stop(s: Session): Promise<{stopped: number}> {
    const pids = new Map<number, string | null>() // pid → start time: tells it from a later process with its pid
    const add = (p: number) => pids.has(p) || pids.set(p, startTime(p))
    const running = this.state(s) === 'running'
    // a live holder keeps its namespaces (and their numbers) ours; a dead one's may be another's by now
    const alive = () => processesIn(s.mntns, s.userns, running ? undefined : s.mountpoint)
    for (const p of alive()) add(p)
    if (running) add(s.pid)
    const signal = (sig: NodeJS.Signals) => {
      for (const p of alive()) {
        add(p)
        try {
          process.kill(p, sig)
        } catch {}
      }
    }
    signal('SIGTERM')
    for (let waited = 0; alive().length > 0; waited += 20) {
      if (waited === 2000) signal('SIGKILL') // what ignored SIGTERM
      if (waited > 2000 && waited % 500 === 0) signal('SIGKILL') // what was forked meanwhile
      if (waited > 30000) throw environment(`processes of the session of '${s.stack}' would not end: ${alive().join(' ')}`)
      await sleep(20)
    }
    // a process leaves its namespaces early in its exit: wait until each one has ended (at most a while)
    const exiting = () => [...pids].filter(([p, t]) => t !== null && startTime(p) === t)
    for (let waited = 0; exiting().length > 0 && waited < 5000; waited += 10) await sleep(10)
    rmSync(this.file(s.stack), {force: true})
    rmSync(this.logFile(s.stack), {force: true})
    try {
      rmdirSync(this.dir) // the store's last session: leave nothing behind in the runtime directory
    } catch {} // others remain (or are starting)
    return {stopped: pids.size}
  }

  /** A session whose holder died (or whose pid was reused): end what it left, forget it. */
  async cleanStale(s: Session) {
    await this.stop(s)
  }

  /** What `exec`/`shell` run: a root session is joined inside its sandbox. */
  joinCommand(s: Session, argv: string[], opts: JoinOptions = {}): Joined {
    return joinCommand(s, argv, opts)
  }
}
