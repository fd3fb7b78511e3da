// Runs an op inside a fresh user+mount namespace: util-linux `unshare` starts
// this package's inner.js there, and the result comes back through a file.
import {mkdirSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {randomBytes} from 'node:crypto'
import {execa} from 'execa'
import {trace} from '../cli/exec.js'
import {StrataError, environment} from '../cli/errors.js'
import {runtimeDir} from '../store/home.js'
import {unshareArgs} from './idmap.js'
import {ops, type OpArgs} from './ops.js'

export interface EnterOptions {
  /** Give the namespace our stdin (only `run` and friends: nothing else reads it). */
  stdin?: boolean
}

export async function inNamespace<T>(op: string, args: OpArgs, opts: EnterOptions = {}): Promise<T> {
  if (process.env.STRATA_IN_NS === '1') return (await ops[op](args)) as T
  const dir = runtimeDir()
  mkdirSync(dir, {recursive: true, mode: 0o700})
  const resultFile = join(dir, `result-${process.pid}-${randomBytes(4).toString('hex')}.json`)
  const argv = [...unshareArgs(args.mapping), '--', process.execPath, new URL('./inner.js', import.meta.url).pathname, op, JSON.stringify(args), resultFile]
  trace('unshare %o', argv)
  try {
    const child = await execa('unshare', argv, {
      stdio: [opts.stdin ? 'inherit' : 'ignore', 'inherit', 'inherit'],
      env: {STRATA_IN_NS: '1'},
      reject: false,
    })
    let text: string
    try {
      text = readFileSync(resultFile, 'utf8')
    } catch {
      if ((child as {code?: string}).code === 'ENOENT') throw environment('unshare is not installed', 'install util-linux and uidmap')
      throw environment(`could not enter a user namespace (unshare exited ${child.exitCode ?? child.signal})`, 'run `strata doctor`')
    }
    const r = JSON.parse(text) as {ok: true; result: T} | {ok: false; error: ReturnType<StrataError['toJSON']>}
    if (!r.ok) throw StrataError.fromJSON(r.error)
    return r.result
  } finally {
    rmSync(resultFile, {force: true})
  }
}
