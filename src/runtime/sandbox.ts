// `run --root`: a sandbox whose root is the stack (docs/design.md, "Sandboxes:
// the engine and the setup sequence"). The outer process checks the request
// and picks the namespaces (user+mount, uts, and net for --net none|private)
// and builds the setup steps; inside, strata-ns walks them (mounts the stack
// unless it joined a session that has it mounted, a minimal /dev, a tmpfs
// /tmp and the volumes, sets the hostname, brings loopback up, waits for
// pasta with --net private), then makes the pid namespace, pivots, masks,
// locks the mounts in a nested user namespace and runs the command with its
// capabilities, no_new_privs and seccomp filter, under a small init.
import {existsSync, statSync} from 'node:fs'
import {isAbsolute, resolve} from 'node:path'
import type {Home} from '../store/home.js'
import {StackStore, backendOf} from '../stack/stacks.js'
import {notFound, usage} from '../errors.js'
import {DEFAULT_RULES, capabilities, checkProtections, ociSeccomp} from './protections.js'
import {unshareArgs, type Mapping} from './idmap.js'
import {runInNamespace, type InRoot, type RunResult, type Setup, type SetupStep} from './setup.js'
import {buildLower, forgetOnRefusal, mountSteps, type LowerOps} from './backends.js'
import {Sessions, type Session} from './session.js'
import {sandboxNamespaces, unshareFlags} from './session-state.js'
import {hostTool} from './host-tools.js'
import {PrivateNet, parsePublish, type Publish} from './private-net.js'
import {checkUser, envFlags, pathInStack} from './exec-options.js'

export interface Volume {source: string; target: string; readOnly: boolean}

export interface SandboxSpec {
  stack: string
  argv: string[]
  env: Record<string, string>
  workdir: string
  volumes: Volume[]
  net: 'host' | 'none' | 'private'
  /** --publish, with --net private: host ports forwarded to the sandbox's (TCP) */
  publish?: Publish[]
  /** --net private: where the outer strata waits to start pasta on the sandbox's namespace (private-net.ts) */
  netSocket?: string
  /** …and the pid to start it on, when not the setup's own (a root session's holder) */
  netPid?: number
  hostname: string
  /** The stack is already mounted: the sandbox was started inside its session. */
  joined: boolean
  /** What strata-ns holds the command by (protections.ts). */
  user?: string
  caps: string
  seccomp: {defaultAction: string; rules: string[]} | 'off'
  /** The strata process the sandbox dies with. */
  watch?: number
}

export interface SandboxRequest {
  env?: string[]
  workdir?: string
  volume?: string[]
  net?: string
  publish?: string[]
  hostname?: string
  user?: string
  'cap-add'?: string[]
  'cap-drop'?: string[]
  seccomp?: string
  'security-opt'?: string[]
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** Checks a sandbox request on the host side; what only the mounted stack can tell is checked inside. */
export function sandboxSpec(stack: string, argv: string[], req: SandboxRequest, hostEnv = process.env): SandboxSpec {
  const env: Record<string, string> = {PATH: DEFAULT_PATH, HOME: '/root', USER: 'root', LOGNAME: 'root', container: 'strata'}
  if (hostEnv.TERM) env.TERM = hostEnv.TERM
  Object.assign(env, envFlags(req.env, hostEnv))
  const volumes = (req.volume ?? []).map((v): Volume => {
    const parts = v.split(':')
    const readOnly = parts.length === 3 && parts[2] === 'ro'
    if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1] || (parts.length === 3 && !['ro', 'rw'].includes(parts[2])))
      throw usage(`invalid --volume '${v}'`, 'give HOST:PATH or HOST:PATH:ro')
    const source = resolve(parts[0])
    if (!existsSync(source)) throw notFound(`volume source ${source} does not exist`, 'create it first, or correct the path before the colon')
    if (!isAbsolute(parts[1])) throw usage(`volume target '${parts[1]}' is not absolute`, 'give the path inside the sandbox from its root, e.g. /data')
    return {source, target: pathInStack(parts[1], 'volume target'), readOnly}
  })
  const net = req.net ?? 'host'
  if (net !== 'host' && net !== 'none' && net !== 'private') throw usage(`unknown --net '${net}'`, 'use --net host, none or private')
  const publish = parsePublish(req.publish ?? [])
  if (publish.length && net !== 'private') throw usage('--publish needs a network of the sandbox\'s own', 'add --net private')
  if (net === 'private') hostTool('pasta', 'install passt (Debian: apt install passt), or use --net host or none')
  const hostname = req.hostname ?? (stack.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || 'strata')
  env.HOSTNAME = hostname
  for (const o of req['security-opt'] ?? [])
    if (o !== 'allow-missing') throw usage(`unknown --security-opt '${o}'`, 'the one option is allow-missing')
  const missing = checkProtections((req['security-opt'] ?? []).includes('allow-missing'))
  for (const m of missing) process.stderr.write(`strata: warning: not enforced in this sandbox: ${m.name} (${m.why})\n`)
  checkUser(req.user)
  const caps = capabilities(req['cap-add'], req['cap-drop'])
  let seccomp: SandboxSpec['seccomp'] = {defaultAction: 'allow', rules: DEFAULT_RULES}
  if (req.seccomp === 'unconfined') {
    process.stderr.write('strata: warning: --seccomp unconfined: the sandbox runs without a seccomp filter\n')
    seccomp = 'off'
  } else if (req.seccomp) seccomp = ociSeccomp(resolve(req.seccomp), caps.names)
  if (missing.some((m) => m.name === 'seccomp filter')) seccomp = 'off'
  return {stack, argv, env, workdir: pathInStack(req.workdir ?? '/', '--workdir'), volumes, net, ...(publish.length ? {publish} : {}), hostname, joined: false, user: req.user, caps: '0x' + caps.mask.toString(16), seccomp}
}

/** The command that starts the sandbox's first process: new namespaces, or a session's plus new ones. */
export function sandboxLauncher(mapping: Mapping, spec: Pick<SandboxSpec, 'net'>, session: Session | null, holder = false): string[] {
  // for `run --root` the pid and ipc namespaces are strata-ns's, so that pid 1 is its init and not this node;
  // a root session's holder is pid 1 of its own
  const extra = [...unshareFlags(sandboxNamespaces(spec.net, holder)), ...(holder ? ['--fork', '--kill-child'] : [])]
  if (!session) return ['unshare', ...unshareArgs(mapping), ...extra, '--']
  // inside the session's user namespace, a mount namespace of our own: its mounts stay ours
  return ['nsenter', '-U', '-m', '-t', String(session.pid), '--preserve-credentials', '--', 'unshare', '--mount', '--propagation', 'private', ...extra, '--']
}

const devices = ['null', 'zero', 'full', 'random', 'urandom', 'tty']

/**
 * The sandbox's setup steps, in order (strata-ns walks them inside its
 * namespaces, setup.ts): the stack's mount (unless the sandbox joined a
 * session that has it mounted), /proc (a holder's: strata-ns mounts its own
 * for `run --root`), a minimal /dev, /tmp, the volumes, the hostname,
 * loopback, the workdir's check, and with --net private the wait for pasta.
 * These need the host's paths, so they come before the pivot. Mount points
 * that don't exist in the stack are made inside it (paths resolve as the
 * sandbox will see them: symlinks stay inside the root).
 * Shared by `run --root` and a root session's holder.
 */
export function sandboxSteps(home: Home, spec: Omit<SandboxSpec, 'argv' | 'caps' | 'seccomp'>, opts: {proc: boolean}): {root: string; setup: Setup} {
  const stacks = new StackStore(home)
  const stack = stacks.get(spec.stack)
  const root = stacks.merged(stack.name)
  const setup: Required<Setup> = spec.joined ? {steps: [], unmountAfter: []} : mountSteps(home, stack, backendOf(stack))
  const step = (s: SetupStep) => setup.steps.push(s)
  const mount = (what: string, target: string, inRoot: InRoot, fstype: string, flags: string[], data = '', source = fstype) => step({op: 'mount', what, source, target, inRoot, fstype, flags, data})

  // strata-ns mounts the /proc of its own pid namespace; a holder, pid 1 of its own, mounts it here
  if (opts.proc) mount('cannot mount /proc in the sandbox', '/proc', 'dir', 'proc', ['nosuid', 'nodev', 'noexec'])
  else step({op: 'mkdir', what: 'cannot make /proc in the stack', path: '/proc'})
  mount('cannot mount /dev in the sandbox', '/dev', 'dir', 'tmpfs', ['nosuid'], 'mode=755,size=64k')
  // the device files are made in the sandbox's own /dev (a tmpfs): no change of the stack's
  for (const d of devices)
    if (existsSync(`/dev/${d}`)) step({op: 'mount', what: `cannot bind /dev/${d} into the sandbox`, source: `/dev/${d}`, target: `/dev/${d}`, inRoot: 'file-', flags: ['bind']})
  mount('cannot mount /dev/pts in the sandbox', '/dev/pts', 'dir-', 'devpts', ['nosuid', 'noexec'], 'newinstance,ptmxmode=0666,mode=0620')
  mount('cannot mount /dev/shm in the sandbox', '/dev/shm', 'dir-', 'tmpfs', ['nosuid', 'nodev'], 'mode=1777', 'shm')
  for (const [name, target] of [['ptmx', 'pts/ptmx'], ['fd', '/proc/self/fd'], ['stdin', '/proc/self/fd/0'], ['stdout', '/proc/self/fd/1'], ['stderr', '/proc/self/fd/2']])
    step({op: 'link', what: `cannot link /dev/${name}`, target, path: `/dev/${name}`})
  mount('cannot mount /tmp in the sandbox', '/tmp', 'dir', 'tmpfs', ['nosuid', 'nodev'], 'mode=1777')
  for (const v of spec.volumes) {
    step({op: 'mount', what: `cannot bind ${v.source} at ${v.target}`, source: v.source, target: v.target, inRoot: statSync(v.source).isDirectory() ? 'dir' : 'file', flags: ['bind']})
    if (v.readOnly) step({op: 'mount', what: `cannot make ${v.target} read-only`, target: v.target, inRoot: 'existing', flags: ['remount', 'bind', 'ro']})
  }
  step({op: 'hostname', what: 'cannot set the hostname', name: spec.hostname})
  if (spec.net !== 'host') step({op: 'loopback', what: 'cannot bring up loopback in the new network namespace'})
  step({op: 'isdir', what: `no directory ${spec.workdir} in stack '${stack.name}'`, kind: 'not_found', fix: 'give --workdir a directory that exists in the stack', path: spec.workdir})
  if (spec.netSocket) step({op: 'network', what: 'the private network', socket: spec.netSocket, pid: spec.netPid, fix: 'check that pasta (Debian: passt) works here, and that /dev/net/tun is usable (mode 0666)'})
  return {root, setup}
}

/** strata-ns's sandbox arguments: the root, the command's workdir, user, capabilities and seccomp rules. */
export function nsArgs(root: string, spec: Pick<SandboxSpec, 'workdir' | 'caps' | 'seccomp' | 'user' | 'watch'>): string[] {
  const a = ['--root', root, '--wd', spec.workdir, '--caps', spec.caps]
  if (spec.watch) a.push('--watch', String(spec.watch))
  if (spec.user) a.push('--user', spec.user)
  if (spec.seccomp === 'off') a.push('--seccomp', 'off')
  else {
    a.push('--seccomp-default', spec.seccomp.defaultAction)
    for (const r of spec.seccomp.rules) a.push('--rule', r)
  }
  return a
}

/** Outer side of `run --root`/`shell --root`: check, pick the namespaces (a session's when the stack is mounted), go in. */
export async function sandboxRun(home: Home, mapping: Mapping, stack: string, argv: string[], req: SandboxRequest, ops: LowerOps): Promise<RunResult> {
  const stacks = new StackStore(home)
  const info = stacks.get(stack)
  const spec = {...sandboxSpec(stack, argv, req), watch: process.pid}
  const session = await new Sessions(home).active(stack)
  const launcher = sandboxLauncher(mapping, spec, session)
  // building the lower tree is rare (cached per layer chain): its own trip into the namespace
  if (!session) {
    await buildLower(home, info, backendOf(info), ops)
  }
  const net = spec.net === 'private' ? await PrivateNet.listen(spec.publish ?? []) : null
  try {
    const {root, setup} = sandboxSteps(home, {...spec, joined: session !== null, netSocket: net?.socket}, {proc: false})
    // while this runs, no commit or reset may swap the upper underneath it (docs/design.md, Locking): strata-ns holds the stack shared
    const lock = {dir: stacks.dir(stack), refused: (why: 'busy' | 'gone') => stacks.lockRefused(stack, why)}
    return await runInNamespace({launcher, mode: nsArgs(root, spec), setup, argv, env: spec.env, lock, onMade: (made) => stacks.addMountPoints(stack, made)}).catch((e) => Promise.reject(forgetOnRefusal(home, e)))
  } finally {
    await net?.close()
  }
}

/**
 * `mount --root`: a long-lived sandbox. Its holder is started as pid 1 of new
 * pid and uts (and with --net none or private, net) namespaces, sets the sandbox up as
 * `run --root` does, and holds it; `exec`/`shell` join it chrooted, with the
 * session's environment and workdir.
 */
export async function startRootSession(home: Home, mapping: Mapping, stack: string, req: SandboxRequest): Promise<Session> {
  new StackStore(home).get(stack) // unknown stack: say that first
  const {argv: _argv, joined: _joined, watch: _watch, ...sandbox} = sandboxSpec(stack, [], req)
  const sessions = new Sessions(home)
  // --net private: pasta outlives this command, under a keeper that ends it with the holder (private-net.ts)
  const net = sandbox.net === 'private' ? await PrivateNet.listen(sandbox.publish ?? [], {log: sessions.logFile(stack)}) : null
  let started = false
  try {
    const s = await sessions.start(stack, mapping, {sandbox: {...sandbox, netSocket: net?.socket}, launcher: sandboxLauncher(mapping, sandbox, null, true)})
    started = true
    return s
  } finally {
    await net?.close(started)
  }
}
