// The three ways to mount a stack (docs/design.md, Backends), as setup steps
// strata-ns takes inside the namespace (setup.ts):
//   kernel       overlayfs, lowerdir=COMPOSED::objects (stubs read lazily from the store)
//   kernel-flat  overlayfs over the materialized tree (kernels without data-only layers)
//   fuse         fuse-overlayfs over the materialized tree (no overlayfs in a user namespace)
// `auto` picks the first that works for the store's filesystem, probed once and cached per filesystem.
import {existsSync, readFileSync, readlinkSync, renameSync, writeFileSync} from 'node:fs'
import {filesystemOf} from '../fstype.js'
import {join, relative} from 'node:path'
import {release} from 'node:os'
import type {Home} from '../store/home.js'
import {runtimeDir} from '../store/home.js'
import type {StackInfo} from '../stack/stacks.js'
import {StackStore, type Backend} from '../stack/stacks.js'
import {composedPath, ensureComposed} from '../stack/compose.js'
import {ensureFlat, flatPath} from '../stack/flat.js'
import {verityOptions} from '../stack/verity.js'
import {overlayOptions} from './overlay-options.js'
import {hostTool} from './host-tools.js'
import {tracer} from '../trace.js'
import {StrataError, environment, integrity} from '../errors.js'
import type {Setup} from './setup.js'
import type {OpCall} from './enter.js'
import type {Probe} from './probe.js'

const traceMount = tracer('strata:mount')

/** The lower tree a backend mounts, and the namespace op that builds it when missing. */
export function lowerOf(home: Home, stack: StackInfo, backend: Backend): {path: string; build: 'compose' | 'flatten'} {
  return backend === 'kernel' ? {path: composedPath(home, stack.layers), build: 'compose'} : {path: flatPath(home, stack.layers), build: 'flatten'}
}

/** The ops that build a lower tree in the namespace (services/ops.ts `compose`, `flatten`). */
export type LowerOps = Record<'compose' | 'flatten', OpCall<{layers: string[]}, {path: string}>>

/** Outside the namespace (`run`, `run --root`): builds the backend's lower tree by its op when it isn't cached (rare: once per layer chain). */
export async function buildLower(home: Home, stack: StackInfo, backend: Backend, ops: LowerOps) {
  const lower = lowerOf(home, stack, backend)
  if (!existsSync(lower.path)) await ops[lower.build]({layers: stack.layers})
}

/** Inside the namespace: builds the backend's lower tree if it isn't cached. */
export function ensureLower(home: Home, stack: StackInfo, backend: Backend): string {
  return backend === 'kernel' ? ensureComposed(home, stack.layers) : ensureFlat(home, stack.layers)
}


/** What mounts the stack at its merged dir with this backend (its lower tree must exist), and what to unmount after (a FUSE daemon outlives the namespace). */
export function mountSteps(home: Home, stack: StackInfo, backend: Backend): Required<Setup> {
  const stacks = new StackStore(home)
  // the kernel would only say "dmesg(1) may have more information"
  for (const d of ['upper', 'work', 'merged'])
    if (!existsSync(join(stacks.dir(stack.name), d))) throw integrity(`stack ${stack.name} has no ${d}/ directory (a command was killed while it swapped it)`, 'run `strata check --repair`, which mends it')
  // paths relative to STRATA_HOME keep the option string short whatever the home's path
  const rel = (p: string) => relative(home.root, p)
  const lower = rel(lowerOf(home, stack, backend).path)
  const merged = stacks.merged(stack.name)
  const common = {upper: rel(stacks.upper(stack.name)), work: rel(stacks.work(stack.name))}
  if (backend === 'fuse') {
    // run from the stack's own directory: every path is then free of the
    // characters fuse-overlayfs's option parser might read specially
    const dir = stacks.dir(stack.name)
    const options = overlayOptions({lower: [relative(dir, lowerOf(home, stack, backend).path)], upper: 'upper', work: 'work', userxattr: false})
    traceMount('fuse-overlayfs -o %s (in %s)', options, dir)
    return {steps: [{op: 'exec', argv: [hostTool('fuse-overlayfs', 'install fuse-overlayfs'), '-o', options, merged], cwd: dir, what: `fuse-overlayfs could not mount '${stack.name}'`}], unmountAfter: [merged]}
  }
  // the kernel mounts an upper without d_type, and the stack then shows deleted files: refuse
  // it when this filesystem's probe (cached, outside the namespace) found that
  const p = cachedProbe(home)
  if (p?.overlay.cause === 'no-d_type') throw environment(`can't mount '${stack.name}' with overlayfs (its backend, ${backend}): ${p.overlay.detail}`, `${p.overlay.fix} (\`strata stack create NAME LAYER… --backend fuse\`)`)
  const options = overlayOptions({lower: [lower], dataOnly: backend === 'kernel' ? [rel(home.objects)] : [], ...common, extra: backend === 'kernel' ? verityOptions(stack.verity) : []})
  traceMount('mount -t overlay -o %s (in %s)', options, home.root)
  return {
    steps: [{op: 'mount', fstype: 'overlay', data: options, source: 'strata', target: merged, cwd: home.root, what: `the kernel refused the overlay mount of '${stack.name}'`, overlay: {lowers: [lower], upper: common.upper}}],
    unmountAfter: [],
  }
}

/** The backend a probe allows: the first that works (kernel, kernel-flat, fuse), with why; null when none does. */
export function chooseBackend(p: Probe): {backend: Backend; why: string} | null {
  if (p.overlay.ok && p.dataOnly.ok) return {backend: 'kernel', why: 'overlayfs with data-only layers works here'}
  if (p.overlay.ok) return {backend: 'kernel-flat', why: `overlayfs works here, data-only layers don't (${p.dataOnly.detail})`}
  if (p.fuse.ok) return {backend: 'fuse', why: `overlayfs doesn't work here (${p.overlay.detail})`}
  return null
}

/**
 * Probe answers are cached per filesystem of the store (device and type, in
 * this user namespace, this boot and kernel): a store on ext4 and one on an
 * overlayfs differ. The cache lives in the runtime directory, trusted only when ours.
 */
interface ProbeCache {entries: Record<string, {probe: Probe; at: string}>}

function cacheKey(home: Home): string {
  const fs = filesystemOf(home.root)
  let userns = ''
  try {
    userns = readlinkSync('/proc/self/ns/user')
  } catch {}
  return [bootId(), release(), userns, fs.dev, fs.type].join(' ')
}

const cacheFile = () => join(runtimeDir(), 'probe.json')

function readCache(): ProbeCache {
  try {
    const c = JSON.parse(readFileSync(cacheFile(), 'utf8')) as ProbeCache
    if (c && typeof c.entries === 'object') return c
  } catch {}
  return {entries: {}}
}

function writeCache(c: ProbeCache) {
  const file = cacheFile()
  const tmp = `${file}.${process.pid}`
  writeFileSync(tmp, JSON.stringify(c), {mode: 0o600})
  renameSync(tmp, file)
}

/** The cached probe of the store's filesystem, if any. */
export function cachedProbe(home: Home): Probe | undefined {
  return readCache().entries[cacheKey(home)]?.probe
}

/** Caches a probe of the store's filesystem (doctor's fresh one replaces what was there). */
export function cacheProbe(home: Home, p: Probe) {
  const c = readCache()
  c.entries[cacheKey(home)] = {probe: p, at: new Date().toISOString()}
  writeCache(c)
}

/** Forgets the cached probe of the store's filesystem (a cached choice failed), or every one. */
export function forgetProbe(home: Home | null) {
  const c = readCache()
  if (home) delete c.entries[cacheKey(home)]
  else c.entries = {}
  writeCache(c)
}

/** Whether an error is a backend's mount failing (then a cached probe that chose it is forgotten). */
export const isMountRefusal = (message: string) => /^(the kernel refused the overlay mount of|fuse-overlayfs could not mount) /.test(message)

/**
 * A backend asked for by name (--backend, STRATA_BACKEND), checked against
 * this store's filesystem where the kernel would mount but show the stack
 * wrong (no d_type: deleted files listed again). Refusals the kernel itself
 * makes are told when the stack is mounted (setup.ts, overlay-causes.ts).
 */
export async function checkForcedBackend(home: Home, backend: Backend, probe: () => Promise<Probe>): Promise<Backend> {
  if (backend === 'fuse') return backend
  let p = cachedProbe(home)
  if (!p) {
    try {
      p = await probe()
    } catch {
      return backend // no namespace here: mounting will say why
    }
    cacheProbe(home, p)
  }
  if (p.overlay.cause === 'no-d_type') throw environment(`the ${backend} backend can't show a stack right here: ${p.overlay.detail}`, p.overlay.fix)
  return backend
}

/** A backend chosen from a cached probe no longer mounts: the next `auto` probes again. Returns e, to throw. */
export function forgetOnRefusal(home: Home, e: unknown): unknown {
  if (e instanceof StrataError && isMountRefusal(e.message)) forgetProbe(home)
  return e
}

/** The backend `auto` means for this store: the first that works, from a probe cached per filesystem. */
export async function autoBackend(home: Home, probe: () => Promise<Probe>): Promise<Backend> {
  let p = cachedProbe(home)
  if (!p) {
    p = await probe()
    cacheProbe(home, p)
  }
  const c = chooseBackend(p)
  if (c) return c.backend
  throw environment(`no backend works for a store on ${p.filesystem.type} here: ${p.overlay.detail}; ${p.fuse.detail}`, p.overlay.fix ?? p.fuse.fix)
}

const bootId = () => (existsSync('/proc/sys/kernel/random/boot_id') ? readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() : 'unknown')
