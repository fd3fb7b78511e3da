// A plan: what a namespace's first process does before handing over to a
// user's command — a few setup commands (mount, …) and then the command.
// The outer process works the plan out; this side only carries it out, and
// loads nothing but node's own modules, since it sits on `run`'s start-up path.
import {spawn, spawnSync} from 'node:child_process'
import {constants} from 'node:os'
import {StrataError} from '../errors.js'
import {trace, userEnv} from '../exec.js'
import {overlayRefusal} from './overlay-causes.js'

export interface Step {
  file: string
  args: string[]
  cwd?: string
  /** What failed, for the error, e.g. "the kernel refused the overlay mount of 'dev'". */
  what: string
  /** an overlay mount: its directories, to tell the cause of a refusal from the situation (overlay-causes.ts) */
  overlay?: {lowers: string[]; upper: string}
}

export interface Plan {
  steps: Step[]
  run: {argv: string[]; cwd: string; env?: NodeJS.ProcessEnv}
  /** After the command, whatever its status: what would outlive the namespace (a FUSE daemon). */
  after?: Step[]
}

export interface RunResult {status: number; signal: string | null}

export async function executePlan(plan: Plan): Promise<RunResult> {
  for (const s of plan.steps) runStep(s)
  try {
    return await runCommand(plan.run.argv, plan.run.cwd, plan.run.env)
  } finally {
    for (const s of plan.after ?? []) spawnSync(s.file, s.args, {cwd: s.cwd, stdio: 'ignore'})
  }
}

/** Runs one step; its failure is an environment error naming what failed and what the program said. */
export function runStep(s: Step) {
  trace('%s %o%s', s.file, s.args, s.cwd ? ` (in ${s.cwd})` : '')
  const r = spawnSync(s.file, s.args, {cwd: s.cwd, stdio: ['ignore', 'ignore', 'pipe']})
  if (r.error || r.status !== 0) {
    const said = r.error ? r.error.message : r.stderr.toString().trim().split('\n')[0]
    const cause = s.overlay && !r.error ? overlayRefusal(s.cwd ?? process.cwd(), s.overlay.lowers, s.overlay.upper) : null
    if (cause) throw new StrataError('environment', `${s.what}: ${cause.why}`, cause.fix)
    throw new StrataError('environment', `${s.what}: ${said}`, 'run `strata doctor` to see what this machine supports')
  }
}

/** Runs argv with the terminal, ignoring SIGINT here while it runs (the child gets it). */
export function runCommand(argv: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<RunResult> {
  const ignore = () => {}
  process.on('SIGINT', ignore)
  process.on('SIGQUIT', ignore)
  return new Promise<RunResult>((resolve) => {
    const child = spawn(argv[0], argv.slice(1), {cwd, env: userEnv(env), stdio: 'inherit'})
    child.on('error', (e: NodeJS.ErrnoException) => {
      // as shells do: 127 not found, 126 found but not runnable
      const why = e.code === 'ENOENT' ? 'command not found' : e.code === 'EACCES' ? 'permission denied (not executable, or a directory on the way is closed to you)' : e.message
      process.stderr.write(`strata: ${argv[0]}: ${why}\n`)
      resolve({status: e.code === 'ENOENT' ? 127 : 126, signal: null})
    })
    child.on('exit', (code, signal) => resolve({status: code ?? 128 + signalNumber(signal), signal}))
  }).finally(() => {
    process.off('SIGINT', ignore)
    process.off('SIGQUIT', ignore)
  })
}

const signalNumber = (s: NodeJS.Signals | null) => (s ? (constants.signals as Record<string, number>)[s] ?? 0 : 0)
