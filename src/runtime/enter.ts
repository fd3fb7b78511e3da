// Runs an op inside a fresh user+mount namespace: util-linux `unshare` starts
// this package's inner.js there, the op goes in on a pipe (fd 3), and the
// result comes back through a file. A namespace can be started early
// (prestart), so that its node boots while the outer one loads oclif.
import {mkdirSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {randomBytes} from 'node:crypto'
import {spawn, type ChildProcess} from 'node:child_process'
import type {Writable} from 'node:stream'
import {trace} from '../exec.js'
import {StrataError, environment} from '../errors.js'
import {runtimeDir} from '../store/home.js'
import {type Mapping, unshareArgs} from './idmap.js'

export interface EnterOptions {
  /** Give the namespace our stdin (only `run` and friends: nothing else reads it). */
  stdin?: boolean
  /** What starts inner.js instead of `unshare <mapping>` (more namespaces, or nsenter into a session): a command ending in `--`. */
  launcher?: string[]
}

/**
 * One op, called from code below the ops table (services/ops.ts): such code
 * names the ops it needs as an object of these, and the CLI hands in the
 * table's own (StrataCommand.ops), so the compiler checks, op by op, that
 * arguments and results agree.
 */
export type OpCall<A, R> = (args: A, opts?: Pick<EnterOptions, 'stdin' | 'launcher'>) => Promise<R>

/** What every op gets: the store, its mapping, and whether to show progress (the op's own arguments come beside). */
export interface OpArgs {
  home: string
  mapping: Mapping
  progress?: boolean
  [k: string]: unknown
}

interface Started {child: ChildProcess; exit: Promise<number | string>; mapping: Mapping; stdin: boolean}
let early: Started | undefined
/** What an early namespace loads while it waits for its op (see inner.ts). */
export type Preload = 'import'

function start(mapping: Mapping, stdin: boolean, launcher = ['unshare', ...unshareArgs(mapping), '--'], preload?: Preload): Started {
  const argv = [...launcher.slice(1), process.execPath, new URL('../services/inner.js', import.meta.url).pathname]
  trace('%s %o', launcher[0], argv)
  const child = spawn(launcher[0], argv, {
    stdio: [stdin ? 'inherit' : 'ignore', 'inherit', 'inherit', 'pipe'],
    env: {...process.env, ...(preload ? {STRATA_PRELOAD: preload} : {})},
  })
  const exit = new Promise<number | string>((resolve) => {
    child.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'))
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'killed'))
  })
  return {child, exit, mapping, stdin}
}

/**
 * Starts a namespace now, for an op given later. Unused, it ends by itself
 * when this process exits (its pipe closes).
 */
export function prestart(mapping: Mapping, stdin: boolean, preload?: Preload) {
  if (early) return
  early = start(mapping, stdin, undefined, preload)
  early.child.unref()
  ;(early.child.stdio[3] as Writable & {unref?: () => void}).unref?.()
}

export async function inNamespace<T>(op: string, args: OpArgs, opts: EnterOptions = {}): Promise<T> {
  const dir = runtimeDir()
  mkdirSync(dir, {recursive: true, mode: 0o700})
  const resultFile = join(dir, `result-${process.pid}-${randomBytes(4).toString('hex')}.json`)
  let ns: Started
  if (early && early.mapping === args.mapping && early.stdin === !!opts.stdin && !opts.launcher) ns = early
  else {
    early?.child.kill()
    ns = start(args.mapping, !!opts.stdin, opts.launcher)
  }
  early = undefined
  ns.child.ref()
  try {
    const pipe = ns.child.stdio[3] as Writable
    pipe.on('error', () => {}) // a namespace that failed to start: its exit says why
    pipe.end(JSON.stringify({op, args, resultFile}))
    const exit = await ns.exit
    let text: string
    try {
      text = readFileSync(resultFile, 'utf8')
    } catch {
      if (exit === 'ENOENT') throw environment('unshare is not installed', 'install util-linux and uidmap')
      // killed mid-op (the OOM killer, a kill -9): what it left is for `check --repair`
      if (typeof exit === 'string' && exit.startsWith('SIG'))
        throw environment(`strata's process in the store's namespace was killed (${exit}) before ${op} finished`, 'run `strata check --repair` to mend what it left, then run the command again')
      throw environment(`could not enter a user namespace (unshare: ${exit})`)
    }
    const r = JSON.parse(text) as {ok: true; result: T} | {ok: false; error: ReturnType<StrataError['toJSON']>}
    if (!r.ok) throw StrataError.fromJSON(r.error)
    return r.result
  } finally {
    rmSync(resultFile, {force: true})
  }
}
