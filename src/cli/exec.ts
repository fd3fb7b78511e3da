// Every external command strata runs goes through here: argument arrays only,
// traced under DEBUG=strata:exec, failures turned into one-line errors.
// node:child_process rather than execa: this is on the start-up path of
// `run`, and execa costs more to load than the command takes to run.
import {spawn, type SpawnOptions} from 'node:child_process'
import {external} from './errors.js'
import {tracer} from './trace.js'

export const trace = tracer('strata:exec')

export interface Ran {stdout: string; stderr: string; exitCode: number}

export interface RunOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  input?: string | Buffer
  /** Resolve with the exit code instead of throwing when the command fails. */
  reject?: boolean
}

export function run(file: string, args: string[], opts: RunOptions = {}): Promise<Ran> {
  trace('%s %o%s', file, args, opts.cwd ? ` (in ${opts.cwd})` : '')
  const spawnOpts: SpawnOptions = {cwd: opts.cwd, env: opts.env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe']}
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, spawnOpts)
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout!.on('data', (d: Buffer) => out.push(d))
    child.stderr!.on('data', (d: Buffer) => err.push(d))
    if (opts.input !== undefined) child.stdin!.end(opts.input)
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOENT' ? external(`${file} is not installed`, 'install it (see `strata doctor`)') : e)
    })
    child.on('close', (code, signal) => {
      const r = {stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), exitCode: code ?? 128}
      if (code === 0 || opts.reject === false) return resolve(r)
      const said = r.stderr.trim().split('\n').pop()
      reject(Object.assign(external(`${file} failed${said ? `: ${said}` : ` (${signal ?? `exit ${code}`})`}`), {stderr: r.stderr}))
    })
  })
}

/** A streaming child (decompressors): the caller pipes its stdin and stdout, then awaits `done`. */
export function spawnStream(file: string, args: string[]) {
  trace('%s %o (streaming)', file, args)
  const child = spawn(file, args, {stdio: ['pipe', 'pipe', 'pipe']})
  const err: Buffer[] = []
  child.stderr!.on('data', (d: Buffer) => err.push(d))
  const done = new Promise<{exitCode: number | null; signal: NodeJS.Signals | null; stderr: string}>((resolve) => {
    child.on('error', (e) => resolve({exitCode: null, signal: null, stderr: e.message}))
    child.on('close', (exitCode, signal) => resolve({exitCode, signal, stderr: Buffer.concat(err).toString()}))
  })
  return {stdin: child.stdin!, stdout: child.stdout!, kill: () => child.kill(), done}
}
