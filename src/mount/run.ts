// `strata run`: inside a fresh namespace, mount the stack and run a command
// in the merged view, passing its exit status back (128+signal when killed).
import {spawn} from 'node:child_process'
import type {Home} from '../store/home.js'
import {StackStore} from '../stack/stacks.js'
import {mountStack} from './kernel.js'

export interface RunResult {status: number; signal: string | null}

export async function runInStack(home: Home, name: string, argv: string[]): Promise<RunResult> {
  const stacks = new StackStore(home)
  const merged = await mountStack(home, stacks.get(name))
  return runCommand(argv, merged)
}

/** Runs argv with the terminal, ignoring SIGINT here while it runs (the child gets it). */
export function runCommand(argv: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<RunResult> {
  const ignore = () => {}
  process.on('SIGINT', ignore)
  process.on('SIGQUIT', ignore)
  return new Promise<RunResult>((resolve) => {
    const child = spawn(argv[0], argv.slice(1), {cwd, env, stdio: 'inherit'})
    child.on('error', (e: NodeJS.ErrnoException) => {
      // as shells do: 127 not found, 126 found but not runnable
      process.stderr.write(`strata: ${argv[0]}: ${e.code === 'ENOENT' ? 'command not found' : e.message}\n`)
      resolve({status: e.code === 'ENOENT' ? 127 : 126, signal: null})
    })
    child.on('exit', (code, signal) => resolve({status: code ?? 128 + signalNumber(signal), signal}))
  }).finally(() => {
    process.off('SIGINT', ignore)
    process.off('SIGQUIT', ignore)
  })
}

import {constants} from 'node:os'
const signalNumber = (s: NodeJS.Signals | null) => (s ? (constants.signals as Record<string, number>)[s] ?? 0 : 0)
