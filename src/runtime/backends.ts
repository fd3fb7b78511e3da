// The three ways to mount a stack (docs/design.md, Backends), as plan steps run
// inside the namespace:
//   kernel       overlayfs, lowerdir=COMPOSED::objects (stubs read lazily from the store)
//   kernel-flat  overlayfs over the materialized tree (kernels without data-only layers)
//   fuse         fuse-overlayfs over the materialized tree (no overlayfs in a user namespace)
// `auto` picks the first that works here, probed once per boot.
import {existsSync, mkdirSync, readFileSync} from 'node:fs'
import {decodeRecord, encodeRecord} from '../format/record.js'
import {writeAtomic} from '../store/fsutil.js'
import {join, relative} from 'node:path'
import {release} from 'node:os'
import type {Home} from '../store/home.js'
import {runtimeDir} from '../store/home.js'
import type {StackInfo} from '../stack/stacks.js'
import {StackStore, type Backend} from '../stack/stacks.js'
import {composedPath, ensureComposed} from '../stack/compose.js'
import {ensureFlat, flatPath} from '../stack/flat.js'
import {overlayOptions} from './overlay-options.js'
import {tracer} from '../trace.js'
import {environment, integrity} from '../errors.js'
import type {Step} from './plan.js'
import type {Probe} from './probe.js'

const traceMount = tracer('strata:mount')

/** The lower tree a backend mounts, and the namespace op that builds it when missing. */
export function lowerOf(home: Home, stack: StackInfo, backend: Backend): {path: string; build: 'compose' | 'flatten'} {
  return backend === 'kernel' ? {path: composedPath(home, stack.layers), build: 'compose'} : {path: flatPath(home, stack.layers), build: 'flatten'}
}

/** Inside the namespace: builds the backend's lower tree if it isn't cached. */
export function ensureLower(home: Home, stack: StackInfo, backend: Backend): string {
  return backend === 'kernel' ? ensureComposed(home, stack.layers) : ensureFlat(home, stack.layers)
}


export interface Mounting {
  steps: Step[] // mount it
  after: Step[] // undo what outlives the namespace by itself (a FUSE daemon)
}

/** What mounts the stack at its merged dir with this backend (its lower tree must exist). */
export function mountSteps(home: Home, stack: StackInfo, backend: Backend): Mounting {
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
    return {
      steps: [{file: 'fuse-overlayfs', args: ['-o', options, merged], cwd: dir, what: `fuse-overlayfs could not mount '${stack.name}'`}],
      after: [{file: 'umount', args: [merged], what: `could not unmount '${stack.name}'`}],
    }
  }
  const options = overlayOptions({lower: [lower], dataOnly: backend === 'kernel' ? [rel(home.objects)] : [], ...common})
  traceMount('mount -t overlay -o %s (in %s)', options, home.root)
  return {
    steps: [{file: 'mount', args: ['-t', 'overlay', '-o', options, 'strata', merged], cwd: home.root, what: `the kernel refused the overlay mount of '${stack.name}'`}],
    after: [],
  }
}

/** The backend `auto` means here: the first that works, from a probe cached per boot. */
export async function autoBackend(home: Home, probe: () => Promise<Probe>): Promise<Backend> {
  const file = join(runtimeDir(), 'probe.json')
  const boot = bootId()
  let p: Probe | undefined
  try {
    const cached = decodeRecord<{boot: string; kernel: string; probe: Probe}>('backend-probe', readFileSync(file, 'utf8'), file)
    if (cached.boot === boot && cached.kernel === release()) p = cached.probe
  } catch {}
  if (!p) {
    p = await probe()
    mkdirSync(runtimeDir(), {recursive: true, mode: 0o700})
    writeAtomic(file, encodeRecord('backend-probe', {boot, kernel: release(), probe: p}), runtimeDir(), null)
  }
  if (p.overlay.ok && p.dataOnly.ok) return 'kernel'
  if (p.overlay.ok) return 'kernel-flat'
  if (p.fuse.ok) return 'fuse'
  throw environment(`no backend works here: ${p.overlay.detail}; ${p.fuse.detail}`)
}

const bootId = () => (existsSync('/proc/sys/kernel/random/boot_id') ? readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() : 'unknown')
