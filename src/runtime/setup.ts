// The one setup sequence (docs/design.md, "Sandboxes: the engine and the
// setup sequence"): `run`, `run --root` and a session's holder build an
// ordered list of typed steps here, and strata-ns (native/ns/setup.c) walks
// it inside the namespace — no second node on the start-up path. This side
// also turns a step's failure back into the usual one-line error, explaining
// an overlay refusal from the situation (overlay-causes.ts).
import {spawn, spawnSync} from 'node:child_process'
import {constants as osConstants} from 'node:os'
import type {Writable} from 'node:stream'
import {StrataError, environment, type ErrorCode} from '../errors.js'
import {trace} from '../exec.js'
import {hostTool} from './host-tools.js'
import {launcherNeedsMap, mapOwnRange} from './idmap.js'
import {overlayRefusal} from './overlay-causes.js'
import {nsHelper} from './protections.js'

/**
 * A step's target inside the sandbox's root (symlinks stay inside): made as a
 * directory or file when missing (reported as a mount point of the stack), or
 * with '-' made in a tmpfs of the sandbox's own (no change of the stack), or
 * one that must exist. A target without inRoot is a host path.
 */
export type InRoot = 'dir' | 'file' | 'dir-' | 'file-' | 'existing'

interface Described {
  /** What failed, for the error, e.g. "the kernel refused the overlay mount of 'dev'". */
  what: string
  /** What to do about it (a default names `strata doctor`). */
  fix?: string
  /** The error's kind (exit code) when not an environment's. */
  kind?: ErrorCode
}

export type SetupStep = Described &
  (
    | {op: 'mount'; source?: string; target: string; inRoot?: InRoot; fstype?: string; flags?: string[]; data?: string; cwd?: string
        /** an overlay mount: its directories, to tell the cause of a refusal from the situation */
        overlay?: {lowers: string[]; upper: string}}
    /** a program that must succeed (fuse-overlayfs, which stays as the mount's daemon) */
    | {op: 'exec'; argv: string[]; cwd?: string}
    /** a symlink at path (inside the root) pointing to target */
    | {op: 'link'; target: string; path: string}
    /** a directory inside the root, made when missing (a mount point strata-ns needs later, /proc) */
    | {op: 'mkdir'; path: string}
    /** a directory that must exist inside the root (the workdir) */
    | {op: 'isdir'; path: string}
    | {op: 'hostname'; name: string}
    /** loopback up, in a network namespace of the sandbox's own */
    | {op: 'loopback'}
    /** with --net private: strata outside starts pasta on us (or on pid, a session's holder); wait until it has (private-net.ts) */
    | {op: 'network'; socket: string; pid?: number}
  )

/** A setup: its steps, and what to undo after the command (a FUSE mount, whose daemon would outlive the namespace). */
export interface Setup {
  steps: SetupStep[]
  unmountAfter?: string[]
}

import type {RunResult} from './command.js'
export type {RunResult}

/** The wire form strata-ns reads (setup.c): per step, its field count, then the fields, each NUL-terminated. */
export function encodeSetup(setup: Setup): Buffer {
  const out: string[] = []
  const put = (...fields: string[]) => out.push(`${fields.length}\0`, ...fields.map((f) => `${f}\0`))
  for (const s of setup.steps) {
    switch (s.op) {
      case 'mount':
        put('mount', s.what, s.cwd ?? '', s.source ?? '', s.target, s.inRoot ? '1' : '0', s.inRoot && s.inRoot !== 'existing' ? s.inRoot : '', s.fstype ?? '', (s.flags ?? []).join(','), s.data ?? '')
        break
      case 'exec':
        put('exec', s.what, s.cwd ?? '', ...s.argv)
        break
      case 'link':
        put('link', s.what, s.target, s.path)
        break
      case 'mkdir':
      case 'isdir':
        put(s.op, s.what, s.path)
        break
      case 'hostname':
        put('hostname', s.what, s.name)
        break
      case 'loopback':
        put('loopback', s.what)
        break
      case 'network':
        put('network', s.what, s.socket, ...(s.pid ? [String(s.pid)] : []))
        break
    }
  }
  if (setup.unmountAfter?.length) {
    put('after', 'after the command')
    for (const t of setup.unmountAfter) put('umount', `could not unmount ${t}`, t)
  }
  return Buffer.from(out.join(''))
}

/** What strata-ns said on its status fd: mount points it made inside the root, or the error that ended it. */
export interface Status {made: string[]; error?: StrataError}

/**
 * Reads strata-ns's status lines: `made PATH`, `error KIND [step N ]REASON`
 * (a step's failure, explained by what strata knows of step N), and with a
 * lock, `error KIND lock busy|gone` (its refusal).
 */
export function readStatus(text: string, setup: Setup, lock?: NsStart['lock']): Status {
  const made: string[] = []
  let error: StrataError | undefined
  for (const line of text.split('\n')) {
    if (line.startsWith('made ')) made.push(line.slice(5))
    if (error || !line.startsWith('error ')) continue
    const refused = /^error \w+ lock (busy|gone)$/.exec(line)
    const m = /^error (\w+) (?:step (\d+) )?(.*)$/.exec(line)!
    error = refused && lock ? lock.refused(refused[1] as 'busy' | 'gone') : stepError(m[1] as ErrorCode, m[2] === undefined ? undefined : setup.steps[Number(m[2])], m[3])
  }
  return {made, error}
}

function stepError(kind: ErrorCode, step: SetupStep | undefined, reason: string): StrataError {
  if (!step) return new StrataError(kind, `sandbox: ${reason}`, kind === 'environment' ? 'run `strata doctor` to see what this machine enforces' : 'correct the option')
  if (step.op === 'mount' && step.overlay) {
    const cause = overlayRefusal(step.cwd ?? '/', step.overlay.lowers, step.overlay.upper)
    if (cause) return new StrataError('environment', `${step.what}: ${cause.why}`, cause.fix)
  }
  const message = reason ? `${step.what}: ${reason}` : step.what
  return new StrataError(step.kind ?? kind, message, step.fix ?? 'run `strata doctor` to see what this machine supports')
}

/** How strata-ns is started: its mode (`--plain DIR`, `--root ROOT …`), after a launcher (unshare/nsenter … --). */
export interface NsStart {
  launcher: string[]
  mode: string[]
  setup: Setup
  argv: string[]
  env: NodeJS.ProcessEnv
  /** Mount points strata-ns made inside the root (to keep them out of diff and commit). */
  onMade?: (paths: string[]) => void
  /** A directory strata-ns holds shared (flock) while it runs — the stack's (Locking) —, and the error a refusal is. */
  lock?: {dir: string; refused: (why: 'busy' | 'gone') => StrataError}
}

/**
 * Runs a command through strata-ns with the terminal: the namespace is made
 * by the launcher, our ids are mapped (own range: written from here), then
 * the steps go in and strata-ns sets up and runs. Its exit status is the
 * command's (128+signal when killed); a setup failure is thrown as its error.
 */
export function runInNamespace(start: NsStart): Promise<RunResult> {
  const args = [...start.launcher.slice(1), nsHelper(), '--steps', '3', '--status-fd', '3', ...(start.lock ? ['--lock', start.lock.dir] : []), ...start.mode, '--', ...start.argv]
  const file = hostTool(start.launcher[0])
  trace('%s %o', file, args)
  // the terminal's Ctrl-C and Ctrl-\ are the command's: we wait for its status
  const ignore = () => {}
  process.on('SIGINT', ignore)
  process.on('SIGQUIT', ignore)
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(file, args, {cwd: '/', env: start.env, stdio: ['inherit', 'inherit', 'inherit', 'pipe']})
    let ended = false
    let said = ''
    const pipe = child.stdio[3] as Writable & NodeJS.ReadableStream
    pipe.on('error', () => {}) // a namespace that failed to start: its exit says why
    pipe.setEncoding('utf8')
    // mount points as strata-ns makes them (the command may run long); the rest is read once, at the end
    let seen = 0
    pipe.on('data', (d: string) => {
      said += d
      const lines = said.slice(seen, said.lastIndexOf('\n') + 1)
      seen += lines.length
      const made = lines.split('\n').filter((l) => l.startsWith('made ')).map((l) => l.slice(5))
      if (made.length) start.onMade?.(made)
    })
    const closed = new Promise((r) => pipe.on('close', r))
    child.on('error', (e: NodeJS.ErrnoException) => {
      ended = true
      reject(e.code === 'ENOENT' ? environment(`${file} is not installed`, 'install util-linux and uidmap, or rebuild strata (`npm run build:native`)') : environment(`cannot start ${file}: ${e.message}`))
    })
    child.on('exit', (code, signal) => {
      ended = true
      void closed.then(() => {
        const error = code === 125 ? readStatus(said, start.setup, start.lock).error : undefined
        if (error) reject(error)
        else resolve({status: code ?? 128 + ((osConstants.signals as Record<string, number>)[signal ?? ''] ?? 0), signal})
      })
    })
    // a namespace of our own range: its ids are ours to write (idmap.ts); the steps wait for them
    const mapped = launcherNeedsMap(start.launcher) && child.pid ? mapOwnRange(child.pid, () => ended) : Promise.resolve()
    mapped.then(
      () => pipe.end(encodeSetup(start.setup)),
      (e) => {
        child.kill('SIGKILL')
        reject(e)
      },
    )
  }).finally(() => {
    process.off('SIGINT', ignore)
    process.off('SIGQUIT', ignore)
  })
}

/**
 * Inside a namespace already (a session's holder): strata-ns walks the steps
 * in this mount namespace and ends; what it mounted stays. Throws the step's error.
 */
export function setUpHere(setup: Setup, root?: string): string[] {
  const args = ['--steps', '0', '--status-fd', '1', ...(root ? ['--root', root] : []), '--setup-only']
  trace('%s %o', nsHelper(), args)
  const r = spawnSync(nsHelper(), args, {input: encodeSetup(setup), stdio: ['pipe', 'pipe', 'inherit'], encoding: 'utf8'})
  if (r.error) throw environment(`cannot start the setup helper: ${r.error.message}`, 'rebuild strata (`npm run build:native`)')
  const st = readStatus(r.stdout, setup)
  if (st.error) throw st.error
  if (r.status !== 0) throw environment(`the setup helper failed (${r.signal ?? `exit ${r.status}`})`)
  return st.made
}
