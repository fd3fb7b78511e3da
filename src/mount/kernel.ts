// The kernel backend: overlayfs over the composed tree with the object store
// as its data-only lower (`lowerdir=COMPOSED::objects`), mounted with
// userxattr inside the namespace's own mount namespace.
import {relative} from 'node:path'
import type {Home} from '../store/home.js'
import type {StackInfo} from '../stack/stacks.js'
import {StackStore} from '../stack/stacks.js'
import {composedPath} from '../compose/compose.js'
import {overlayOptions} from '../overlay/options.js'
import {tracer} from '../cli/trace.js'
import type {Step} from '../ns/plan.js'

const traceMount = tracer('strata:mount')

/** The mount command that puts the stack at its merged dir (its composed tree must exist). */
export function kernelMountStep(home: Home, stack: StackInfo): Step {
  const stacks = new StackStore(home)
  // paths relative to STRATA_HOME keep the option string short whatever the home's path
  const rel = (p: string) => relative(home.root, p)
  const options = overlayOptions({
    lower: [rel(composedPath(home, stack.layers))],
    dataOnly: [rel(home.objects)],
    upper: rel(stacks.upper(stack.name)),
    work: rel(stacks.work(stack.name)),
  })
  traceMount('mount -t overlay -o %s (in %s)', options, home.root)
  return {
    file: 'mount',
    args: ['-t', 'overlay', '-o', options, 'strata', stacks.merged(stack.name)],
    cwd: home.root,
    what: `the kernel refused the overlay mount of '${stack.name}'`,
  }
}
