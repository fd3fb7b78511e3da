// Every external command strata runs goes through here: argument arrays only,
// traced under DEBUG=strata:exec, failures turned into one-line errors.
import createDebug from 'debug'
import {execa, type Options} from 'execa'
import {external} from './errors.js'

export const trace = createDebug('strata:exec')

export async function run(file: string, args: string[], opts: Options = {}) {
  trace('%s %o%s', file, args, opts.cwd ? ` (in ${opts.cwd})` : '')
  try {
    return await execa(file, args, {stdin: 'ignore', ...opts})
  } catch (e) {
    const err = e as {code?: string; stderr?: string; shortMessage?: string; exitCode?: number}
    if (err.code === 'ENOENT') throw external(`${file} is not installed`, `install it (Debian: see \`strata doctor\`)`)
    const said = String(err.stderr ?? '').trim().split('\n').pop()
    throw Object.assign(external(`${file} failed${said ? `: ${said}` : ` (exit ${err.exitCode})`}`), {stderr: err.stderr})
  }
}

/** A streaming child (decompressors): the caller pipes its stdin/stdout and awaits it. */
export function spawnStream(file: string, args: string[]) {
  trace('%s %o (streaming)', file, args)
  return execa(file, args, {stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', buffer: {stdout: false, stderr: true}, reject: false})
}
