// Runs a user's command with the terminal from this process (a joined
// session, strata run inside strata run), passing its status back. Node's own
// modules only: `strata exec` uses this on its start-up path.
import {spawn} from 'node:child_process'
import {constants} from 'node:os'
import {userEnv} from '../exec.js'

export interface RunResult {status: number; signal: string | null}

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
