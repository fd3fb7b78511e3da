// The session holder: started by `strata mount` inside `unshare` (a fresh
// user+mount namespace, detached from any terminal). It mounts the stack,
// records itself, says "ready" on fd 3, then waits to be told to stop: the
// mount lives as long as this process (and whatever joined its namespace).
import {closeSync, writeSync} from 'node:fs'
import {Home} from '../store/home.js'
import {StackStore} from '../stack/stacks.js'
import {asStrataError} from '../cli/errors.js'
import {kernelMountStep} from './kernel.js'
import {ensureComposed} from '../compose/compose.js'
import {run} from '../cli/exec.js'
import {environment} from '../cli/errors.js'
import {Sessions, nsOf, startTime, type HolderReport} from './session.js'
import type {Mapping} from '../ns/idmap.js'

const args = JSON.parse(process.argv[2]) as {home: string; stack: string; mapping: Mapping; stateFile: string; log: string}

function report(r: HolderReport) {
  try {
    writeSync(3, JSON.stringify(r))
    closeSync(3)
  } catch {} // the starter went away: nothing to tell
}

process.on('SIGTERM', () => process.exit(0))
process.on('SIGHUP', () => {})
process.on('SIGINT', () => process.exit(0))

try {
  const home = new Home(args.home)
  const stack = new StackStore(home).get(args.stack)
  ensureComposed(home, stack.layers)
  const step = kernelMountStep(home, stack)
  await run(step.file, step.args, {cwd: step.cwd}).catch((e: Error) => {
    throw environment(`${step.what}: ${e.message.replace(/^mount failed: /, '')}`)
  })
  const mountpoint = step.args[step.args.length - 1]
  Sessions.record(args.stateFile, {
    stack: stack.name,
    pid: process.pid,
    backend: stack.backend,
    since: new Date().toISOString(),
    mountpoint,
    mapping: args.mapping,
    starttime: startTime(process.pid)!,
    mntns: nsOf('self', 'mnt')!,
    userns: nsOf('self', 'user')!,
    log: args.log,
  })
  report({ok: true})
  console.log(`${new Date().toISOString()} holding ${stack.name} at ${mountpoint} (pid ${process.pid})`)
  setInterval(() => {}, 1 << 30) // wait for SIGTERM
} catch (e) {
  console.error(`${new Date().toISOString()} ${(e as Error).message}`)
  report({ok: false, error: asStrataError(e).toJSON()})
  process.exit(1)
}
