// The session holder: started by `strata mount` inside `unshare` (a fresh
// user+mount namespace, detached from any terminal). It mounts the stack,
// records itself, says "ready" on fd 3, then waits to be told to stop: the
// mount lives as long as this process (and whatever joined its namespace).
import {closeSync, writeSync} from 'node:fs'
import {Home} from '../store/home.js'
import {StackStore} from '../stack/stacks.js'
import {asStrataError} from '../cli/errors.js'
import {backendOf, ensureLower, mountSteps} from './backends.js'
import {runStep} from '../ns/plan.js'
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
  const backend = backendOf(stack)
  ensureLower(home, stack, backend)
  // a FUSE daemon is a process of this namespace: umount ends it with the rest
  for (const step of mountSteps(home, stack, backend).steps) runStep(step)
  const mountpoint = new StackStore(home).merged(stack.name)
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
