// The kernel backend: overlayfs over the composed tree with the object store
// as its data-only lower (`lowerdir=COMPOSED::objects`), mounted with
// userxattr inside the current (user-owned) mount namespace.
import {relative} from 'node:path'
import createDebug from 'debug'
import type {Home} from '../store/home.js'
import type {StackInfo} from '../stack/stacks.js'
import {StackStore} from '../stack/stacks.js'
import {ensureComposed} from '../compose/compose.js'
import {overlayOptions} from '../overlay/options.js'
import {run} from '../cli/exec.js'
import {environment, StrataError} from '../cli/errors.js'

const traceMount = createDebug('strata:mount')

/** Mounts the stack at its merged dir; returns that path. */
export async function mountStack(home: Home, stack: StackInfo): Promise<string> {
  const stacks = new StackStore(home)
  const composed = ensureComposed(home, stack.layers)
  // paths relative to STRATA_HOME keep the option string short whatever the home's path
  const rel = (p: string) => relative(home.root, p)
  const options = overlayOptions({
    lower: [rel(composed)],
    dataOnly: [rel(home.objects)],
    upper: rel(stacks.upper(stack.name)),
    work: rel(stacks.work(stack.name)),
  })
  traceMount('mount -t overlay -o %s (in %s)', options, home.root)
  const merged = stacks.merged(stack.name)
  try {
    await run('mount', ['-t', 'overlay', '-o', options, 'strata', merged], {cwd: home.root})
  } catch (e) {
    const said = (e as {stderr?: string}).stderr ?? ''
    if (e instanceof StrataError && /wrong fs type|invalid argument|not permitted|permission denied/i.test(said + e.message))
      throw environment(`the kernel refused the overlay mount of '${stack.name}': ${e.message.replace(/^mount failed: /, '')}`)
    throw e
  }
  return merged
}
