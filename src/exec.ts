// External commands: argument arrays only, traced under DEBUG=strata:exec.
// This holds the trace and the streaming child (decompressors); setup steps
// are strata-ns's (src/runtime/setup.ts). node:child_process rather than
// execa: execa costs more to load than most of these commands take to run.
import {spawn} from 'node:child_process'
import {accessSync, constants} from 'node:fs'
import {dirname} from 'node:path'
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

/**
 * A host program's path: found on PATH, else where Debian keeps it (a PATH
 * without /usr/bin mustn't stop strata, nor be mistaken for a missing
 * package), else the bare name, which a spawn reports as ENOENT.
 */
export function hostTool(name: string): string {
  if (name.includes('/')) return name
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/bin', '/bin', '/usr/sbin', '/sbin']
  for (const d of dirs) {
    const p = `${d}/${name}`
    try {
      accessSync(p, constants.X_OK)
      return p
    } catch {}
  }
  return name
}

/**
 * The environment for a launcher (unshare runs newuidmap by name, and strata
 * runs mount inside): PATH with the system's directories after the user's
 * own. The user's command gets the user's PATH back (userEnv).
 */
export function toolsEnv(): NodeJS.ProcessEnv {
  const path = process.env.PATH ?? ''
  const dirs = path.split(':')
  const missing = ['/usr/bin', '/bin'].filter((d) => !dirs.includes(d))
  return missing.length ? {PATH: [path, ...missing].filter(Boolean).join(':'), STRATA_HOST_PATH: path} : {}
}

/** The environment for the user's own command: PATH as the user had it, whatever strata added for its tools. */
export function userEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (env.STRATA_HOST_PATH === undefined) return env
  const {STRATA_HOST_PATH: path, ...rest} = env
  return {...rest, PATH: path}
}

/** Whether a program is on PATH itself (not only found by hostTool's fallback, which searches PATH first). */
export function onPath(name: string): boolean {
  const found = hostTool(name)
  return found.startsWith('/') && (process.env.PATH ?? '').split(':').includes(dirname(found))
}
