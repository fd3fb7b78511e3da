// `run --root`: a sandbox whose root is the stack (docs/design.md, "Sandboxes:
// the engine and the setup sequence"). The outer process checks the request
// and picks the namespaces (user+mount, uts, and net for --net none|private);
// inside, node mounts the stack (unless it joined a session that has it
// mounted), a minimal /dev, a tmpfs /tmp and the volumes, sets the hostname,
// brings loopback up, waits for pasta with --net private, then hands over to
// strata-ns, which makes the pid namespace, pivots, masks, locks the mounts in
// a nested user namespace and runs the command with its capabilities,
// no_new_privs and seccomp filter, under a small init.
import {existsSync, lstatSync, mkdirSync, readlinkSync, statSync, writeFileSync} from 'node:fs'
import {isAbsolute, join, resolve} from 'node:path'
import type {Home} from '../store/home.js'
import {StackStore, backendOf} from '../stack/stacks.js'
import {spawn} from 'node:child_process'
import {constants as osConstants} from 'node:os'
import {StrataError, environment, notFound, usage, type ErrorCode} from '../errors.js'
import {DEFAULT_RULES, capabilities, checkProtections, nsHelper, ociSeccomp} from './protections.js'
import {unshareArgs, type Mapping} from './idmap.js'
import {runStep, type RunResult, type Step} from './plan.js'
import {ensureLower, mountSteps} from './backends.js'
import {sys} from '../sys.js'
import {Sessions, type Session} from './session.js'
import type {OpCall} from './enter.js'
import {sandboxNamespaces, unshareFlags} from './session-state.js'
import {hostTool} from './host-tools.js'
import {PrivateNet, awaitNetwork, parsePublish, type Publish} from './private-net.js'
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

/**
 * Resolves a path inside root the way the sandbox will see it (symlinks stay
 * inside root). With create, what is missing is made, each parent's times
 * put back after (a mount point is no change of the user's: see
 * StackStore.addMountPoints), and the paths made are added to made.
 */
export function resolveInRoot(root: string, path: string, create?: 'dir' | 'file', made?: string[]): string | null {
  const todo = path.split('/').filter((p) => p && p !== '.')
  const done: string[] = []
  for (let hops = 0; todo.length > 0; ) {
    const part = todo.shift()!
    if (part === '..') {
      done.pop()
      continue
    }
    const here = join(root, ...done, part)
    let st
    try {
      st = lstatSync(here)
    } catch {
      if (!create) return null
      const parent = join(root, ...done)
      const times = lstatSync(parent, {bigint: true})
      if (todo.length === 0 && create === 'file') writeFileSync(here, '', {mode: 0o644})
      else mkdirSync(here, {mode: 0o755})
      sys.utimens(parent, times.atimeNs, times.mtimeNs)
      done.push(part)
      made?.push('/' + done.join('/'))
      continue
    }
    if (st.isSymbolicLink()) {
      if (++hops > 40) return null
      const target = readlinkSync(here)
      if (target.startsWith('/')) done.length = 0
      todo.unshift(...target.split('/').filter((p) => p && p !== '.'))
      continue
    }
    done.push(part)
  }
  return join(root, ...done)
}

const devices = ['null', 'zero', 'full', 'random', 'urandom', 'tty']

/**
 * Inside the sandbox's namespaces: mounts the stack (unless the sandbox joined
 * a session that has it mounted), checks the workdir, and returns the steps
 * that set up /proc, /dev, /tmp, the volumes, the hostname and loopback.
 * Shared by `run --root` (its pid 1 runs them, then the command) and a root
 * session's holder (runs them, then holds).
 */
export function sandboxSetup(home: Home, spec: Omit<SandboxSpec, 'argv' | 'caps' | 'seccomp'>, opts: {proc: boolean} = {proc: true}): {root: string; steps: Step[]} {
  const stacks = new StackStore(home)
  const stack = stacks.get(spec.stack)
  const root = stacks.merged(stack.name)
  if (!spec.joined) {
    const backend = backendOf(stack)
    ensureLower(home, stack, backend)
    for (const m of mountSteps(home, stack, backend).steps) runStep(m)
  }
  const made: string[] = []
  const at = (p: string, create: 'dir' | 'file' = 'dir') => {
    const r = resolveInRoot(root, p, create, made)
    if (!r) throw environment(`cannot make ${p} in stack '${stack.name}' (a symlink loop?)`, 'fix the path in the stack')
    return r
  }
  const step = (what: string, file: string, ...args: string[]): Step => ({file: file.includes('/') ? file : hostTool(file), args, what})
  const steps: Step[] = []
  const mount = (what: string, ...args: string[]) => steps.push(step(what, 'mount', ...args))

  const proc = at('/proc')
  // strata-ns mounts the /proc of its own pid namespace; a holder mounts it here
  if (opts.proc) mount('cannot mount /proc in the sandbox', '-t', 'proc', '-o', 'nosuid,nodev,noexec', 'proc', proc)
  const dev = at('/dev')
  mount('cannot mount /dev in the sandbox', '-t', 'tmpfs', '-o', 'mode=755,nosuid,size=64k', 'tmpfs', dev)
  // the device files and links are made once /dev is the sandbox's tmpfs: a step after the mount
  const devSetup: Step[] = []
  for (const d of devices) {
    if (!existsSync(`/dev/${d}`)) continue
    devSetup.push(step(`cannot make /dev/${d}`, 'touch', join(dev, d)))
    devSetup.push(step(`cannot bind /dev/${d} into the sandbox`, 'mount', '--bind', `/dev/${d}`, join(dev, d)))
  }
  devSetup.push(step('cannot make /dev/pts', 'mkdir', '-p', join(dev, 'pts'), join(dev, 'shm')))
  devSetup.push(step('cannot mount /dev/pts in the sandbox', 'mount', '-t', 'devpts', '-o', 'newinstance,ptmxmode=0666,mode=0620,nosuid,noexec', 'devpts', join(dev, 'pts')))
  devSetup.push(step('cannot mount /dev/shm in the sandbox', 'mount', '-t', 'tmpfs', '-o', 'mode=1777,nosuid,nodev', 'shm', join(dev, 'shm')))
  for (const [name, target] of [['ptmx', 'pts/ptmx'], ['fd', '/proc/self/fd'], ['stdin', '/proc/self/fd/0'], ['stdout', '/proc/self/fd/1'], ['stderr', '/proc/self/fd/2']])
    devSetup.push(step(`cannot link /dev/${name}`, 'ln', '-s', target, join(dev, name)))
  steps.push(...devSetup)
  mount('cannot mount /tmp in the sandbox', '-t', 'tmpfs', '-o', 'mode=1777,nosuid,nodev', 'tmpfs', at('/tmp'))
  for (const v of spec.volumes) {
    const target = at(v.target, statSync(v.source).isDirectory() ? 'dir' : 'file')
    mount(`cannot bind ${v.source} at ${v.target}`, '--bind', v.source, target)
    if (v.readOnly) mount(`cannot make ${v.target} read-only`, '-o', 'remount,bind,ro', target)
  }
  if (made.length) stacks.addMountPoints(stack.name, made)
  steps.push(step('cannot set the hostname', hostTool('hostname'), spec.hostname))
  if (spec.net !== 'host') steps.push(step('cannot bring up loopback in the new network namespace', hostTool('ip', 'install iproute2'), 'link', 'set', 'lo', 'up'))

  const wd = resolveInRoot(root, spec.workdir)
  if (!wd || !statSync(wd).isDirectory())
    throw notFound(`no directory ${spec.workdir} in stack '${stack.name}'`, 'give --workdir a directory that exists in the stack')
  return {root, steps}
}

/** Inside the namespaces, as their pid 1: mount, set up, run. */
export async function runSandbox(home: Home, spec: SandboxSpec): Promise<RunResult> {
  const {root, steps} = sandboxSetup(home, spec, {proc: false})
  for (const s of steps) runStep(s)
  if (spec.netSocket) await awaitNetwork(spec.netSocket)
  return runNs(nsArgs(root, spec), spec.env)
}

/** strata-ns's arguments: the root, the command's workdir, user, capabilities and seccomp rules. */
export function nsArgs(root: string, spec: SandboxSpec): string[] {
  const a = ['--root', root, '--wd', spec.workdir, '--caps', spec.caps, '--status-fd', '3']
  if (spec.watch) a.push('--watch', String(spec.watch))
  if (spec.user) a.push('--user', spec.user)
  if (spec.seccomp === 'off') a.push('--seccomp', 'off')
  else {
    a.push('--seccomp-default', spec.seccomp.defaultAction)
    for (const r of spec.seccomp.rules) a.push('--rule', r)
  }
  return [...a, '--', ...spec.argv]
}

/** Runs strata-ns with the terminal; a setup failure comes back on fd 3 as `error KIND MESSAGE`. */
function runNs(args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  const ignore = () => {}
  process.on('SIGINT', ignore)
  process.on('SIGQUIT', ignore)
  return new Promise<RunResult>((res, rej) => {
    const child = spawn(nsHelper(), args, {cwd: '/', env, stdio: ['inherit', 'inherit', 'inherit', 'pipe']})
    let said = ''
    child.stdio[3]!.on('data', (d: Buffer) => (said += d.toString()))
    const closed = new Promise((r) => child.stdio[3]!.on('close', r))
    child.on('error', (e) => rej(environment(`cannot start the sandbox helper: ${e.message}`, 'rebuild strata (`npm run build:native`)')))
    child.on('exit', (code, signal) => {
      void closed.then(() => {
        const m = /^error (\w+) (.*)$/m.exec(said)
        if (code === 125 && m) rej(new StrataError(m[1] as ErrorCode, `sandbox: ${m[2]}`, m[1] === 'environment' ? 'run `strata doctor` to see what this machine enforces' : 'correct the option'))
        else res({status: code ?? 128 + ((osConstants.signals as Record<string, number>)[signal ?? ''] ?? 0), signal})
      })
    })
  }).finally(() => {
    process.off('SIGINT', ignore)
    process.off('SIGQUIT', ignore)
  })
}


/** Outer side of `run --root`/`shell --root`: check, pick the namespaces (a session's when the stack is mounted), go in. */
export async function sandboxRun(home: Home, mapping: Mapping, stack: string, argv: string[], req: SandboxRequest, ops: {sandbox: OpCall<{spec: SandboxSpec}, RunResult>}): Promise<RunResult> {
  new StackStore(home).get(stack)
  const spec = {...sandboxSpec(stack, argv, req), watch: process.pid}
  const session = await new Sessions(home).active(stack)
  const launcher = sandboxLauncher(mapping, spec, session)
  const net = spec.net === 'private' ? await PrivateNet.listen(spec.publish ?? []) : null
  try {
    return await ops.sandbox({spec: {...spec, joined: session !== null, netSocket: net?.socket}}, {stdin: true, launcher})
  } finally {
    await net?.close()
  }
}

/**
 * `mount --root`: a long-lived sandbox. Its holder is started as pid 1 of new
 * pid and uts (and with --net none, net) namespaces, sets the sandbox up as
 * `run --root` does, and holds it; `exec`/`shell` join it chrooted, with the
 * session's environment and workdir.
 */
export async function startRootSession(home: Home, mapping: Mapping, stack: string, req: SandboxRequest): Promise<Session> {
  new StackStore(home).get(stack) // unknown stack: say that first
  if (req.net === 'private') throw usage('--net private is for run --root and shell --root, not yet for mount --root', 'use --net host or none for a root session')
  const {argv: _argv, joined: _joined, watch: _watch, ...sandbox} = sandboxSpec(stack, [], req)
  return new Sessions(home).start(stack, mapping, {sandbox, launcher: sandboxLauncher(mapping, sandbox, null, true)})
}
