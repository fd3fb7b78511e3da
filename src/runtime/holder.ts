// The session holder: started by `strata mount` inside `unshare` (a fresh
// user+mount namespace, detached from any terminal). It mounts the stack,
// records itself, says "ready" on fd 3, then waits to be told to stop: the
// mount lives as long as this process (and whatever joined its namespace).
// A root session's holder (`mount --root`) is pid 1 of the sandbox's pid
// namespace and sets the sandbox up around the mount (sandbox.ts); when it
// ends, the kernel ends every process of the sandbox with it.
import {closeSync, readlinkSync, writeSync} from 'node:fs'
import {Home} from '../store/home.js'
import {StackStore, backendOf} from '../stack/stacks.js'
import {asStrataError} from '../errors.js'
import {ensureLower, mountSteps} from './backends.js'
import {setUpHere} from './setup.js'
import {Sessions, nsOf, startTime, type HolderReport} from './session.js'
import {awaitOwnMap, type Mapping} from './idmap.js'
import {sandboxSteps} from './sandbox.js'
import {sys} from '../sys.js'
import type {RootSessionStart} from './session.js'

const args = JSON.parse(process.argv[2]) as {home: string; stack: string; mapping: Mapping; stateFile: string; log: string; sandbox?: RootSessionStart['sandbox']}

function report(r: HolderReport) {
  try {
    writeSync(3, JSON.stringify(r) + '\n')
    closeSync(3)
  } catch {} // the starter went away: nothing to tell
}

// started in a namespace whose ids the starter writes (own range): nothing works as root before they are
awaitOwnMap()

process.on('SIGTERM', () => process.exit(0))
process.on('SIGHUP', () => {})
process.on('SIGINT', () => process.exit(0))

try {
  const home = new Home(args.home)
  const stack = new StackStore(home).get(args.stack)
  // held shared for the session's life: no commit, reset or stack rm pulls the upper (or, through the stack, its layers) from under the mount
  new StackStore(home).lock(args.stack, 'shared')
  const backend = backendOf(stack)
  ensureLower(home, stack, backend)
  // strata-ns walks the setup steps in our mount namespace (setup.ts); a FUSE daemon is a process of this namespace: umount ends it with the rest
  // in the sandbox our pid is 1; the host's /proc (still mounted at /proc here) names the host's pid
  const pid = args.sandbox ? Number(readlinkSync('/proc/self')) : process.pid
  if (args.sandbox) {
    const {root, setup} = sandboxSteps(home, {...args.sandbox, joined: false, netPid: pid}, {proc: true})
    const made = setUpHere(setup, root)
    if (made.length) new StackStore(home).addMountPoints(stack.name, made)
  } else setUpHere({steps: mountSteps(home, stack, backend).steps})
  const mountpoint = new StackStore(home).merged(stack.name)
  const {stack: _stack, netSocket: _netSocket, ...sandbox} = args.sandbox ?? {stack: ''}
  Sessions.record(args.stateFile, {
    stack: stack.name,
    pid,
    backend: stack.backend,
    since: new Date().toISOString(),
    mountpoint,
    mapping: args.mapping,
    starttime: startTime(pid)!,
    mntns: nsOf('self', 'mnt')!,
    userns: nsOf('self', 'user')!,
    log: args.log,
    root: args.sandbox !== undefined,
    ...(args.sandbox ? {sandbox: sandbox as Required<RootSessionStart>['sandbox']} : {}),
  })
  // pid 1 of the sandbox inherits the orphans of every exec: reap them as they end
  if (args.sandbox) {
    process.on('SIGCHLD', () => sys.reap())
    sys.reap()
  }
  report({ok: true})
  console.log(`${new Date().toISOString()} holding ${stack.name} at ${mountpoint} (pid ${pid}${args.sandbox ? ', a root session' : ''})`)
  setInterval(() => {}, 1 << 30) // wait for SIGTERM
} catch (e) {
  console.error(`${new Date().toISOString()} ${(e as Error).message}`)
  report({ok: false, error: asStrataError(e).toJSON()})
  process.exit(1)
}
