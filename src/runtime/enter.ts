// Runs an op inside a fresh user+mount namespace: util-linux `unshare` starts
// this package's inner.js there, the op goes in on a pipe (fd 3), and the
// result comes back through a file. A namespace can be started early
// (prestart), so that its node boots while the outer one loads oclif.
import {mkdirSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {randomBytes} from 'node:crypto'
import {spawn, type ChildProcess} from 'node:child_process'
import type {Writable} from 'node:stream'
import {hostTool, toolsEnv, trace} from '../exec.js'
import {StrataError, environment} from '../errors.js'
import {runtimeDir} from '../store/home.js'
import {type Mapping, launcherNeedsMap, mapOwnRange, unshareArgs} from './idmap.js'

/**
 * One op, called from code below the ops table (services/ops.ts): such code
 * names the ops it needs as an object of these, and the CLI hands in the
 * table's own (StrataCommand.ops), so the compiler checks, op by op, that
 * arguments and results agree.
 */
export type OpCall<A, R> = (args: A) => Promise<R>

/** What every op gets: the store, its mapping, and whether to show progress (the op's own arguments come beside). */
export interface OpArgs {
  home: string
  mapping: Mapping
  progress?: boolean
  [k: string]: unknown
}

interface Started {child: ChildProcess; exit: Promise<number | string>; mapping: Mapping; mapped: Promise<void>}
let early: Started | undefined
/** What an early namespace loads while it waits for its op (see inner.ts). */
export type Preload = 'import'

function start(mapping: Mapping, preload?: Preload): Started {
  const launcher = ['unshare', ...unshareArgs(mapping), '--']
  const argv = [...launcher.slice(1), process.execPath, new URL('../services/inner.js', import.meta.url).pathname]
  trace('%s %o', launcher[0], argv)
  const child = spawn(hostTool(launcher[0]), argv, {
    stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
    env: {...process.env, ...toolsEnv(), ...(preload ? {STRATA_PRELOAD: preload} : {})},
  })
  let ended = false
  const exit = new Promise<number | string>((resolve) => {
    child.on('error', (e: NodeJS.ErrnoException) => ((ended = true), resolve(e.code ?? 'error')))
    child.on('exit', (code, signal) => ((ended = true), resolve(code ?? signal ?? 'killed')))
  })
  // a namespace of our own range: its ids are ours to write (idmap.ts)
  const mapped = launcherNeedsMap(launcher) && child.pid ? mapOwnRange(child.pid, () => ended) : Promise.resolve()
  mapped.catch(() => {}) // awaited by inNamespace; an unused early start must not leave it unhandled
  return {child, exit, mapping, mapped}
}

/**
 * Starts a namespace now, for an op given later. Unused, it ends by itself
 * when this process exits (its pipe closes).
 */
export function prestart(mapping: Mapping, preload?: Preload) {
  if (early) return
  early = start(mapping, preload)
  early.child.unref()
  ;(early.child.stdio[3] as Writable & {unref?: () => void}).unref?.()
}

export async function inNamespace<T>(op: string, args: OpArgs): Promise<T> {
  const dir = runtimeDir()
  mkdirSync(dir, {recursive: true, mode: 0o700})
  const resultFile = join(dir, `result-${process.pid}-${randomBytes(4).toString('hex')}.json`)
  let ns: Started
  if (early && early.mapping === args.mapping) ns = early
  else {
    early?.child.kill()
    ns = start(args.mapping)
  }
  early = undefined
  ns.child.ref()
  try {
    const pipe = ns.child.stdio[3] as Writable
    pipe.on('error', () => {}) // a namespace that failed to start: its exit says why
    try {
      await ns.mapped
    } catch (e) {
      ns.child.kill('SIGKILL')
      throw e
    }
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
