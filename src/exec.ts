// External commands: argument arrays only, traced under DEBUG=strata:exec.
// Plans (src/ns/plan.ts) run their steps with spawnSync; this holds the trace
// and the streaming child (decompressors). node:child_process rather than
// execa: this is on the start-up path of `run`, and execa costs more to load
// than the command takes to run.
import {spawn} from 'node:child_process'
import {tracer} from './trace.js'

export const trace = tracer('strata:exec')

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
