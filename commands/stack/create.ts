import {Args, Flags} from '@oclif/core'
import {StrataCommand, mapFlag} from '../../src/cli/command.js'
import type {StackInfo} from '../../src/stack/stacks.js'
import {createdStack} from '../../src/cli/render-stack.js'
import {LayerStore} from '../../src/layer/layers.js'

export default class StackCreate extends StrataCommand {
  static summary = 'Create a stack of layers (top first)'
  static examples = ['<%= config.bin %> stack create dev tools base']
  static usage = 'NAME LAYER... [--backend auto|kernel|kernel-flat|fuse] [--map auto|single] [--verity] [--json]'
  static strict = false
  static args = {
    name: Args.string({description: 'name of the new stack', required: true, ignoreStdin: true}),
    layers: Args.string({description: 'layers, top first (names, ids or id prefixes)', required: true, ignoreStdin: true}),
  }
  static flags = {
    backend: Flags.string({description: 'how to mount it: kernel (data-only layers), kernel-flat, fuse, or auto: the first that works here (default: $STRATA_BACKEND or auto)', options: ['auto', 'kernel', 'kernel-flat', 'fuse']}),
    verity: Flags.boolean({description: 'the kernel checks every file read against its digest (overlayfs verity=require): needs layers imported with --stubs digest, the kernel backend, and fs-verity in the kernel and the store\'s filesystem; refused (exit 5) where they are missing'}),
    map: mapFlag,
  }

  async run(): Promise<StackInfo> {
    const {args, argv, flags} = await this.parse(StackCreate)
    const layers = (argv as string[]).slice(1)
    // before anything is probed or made: a layer that isn't there is not found, and the store stays as it was
    const known = new LayerStore(this.home)
    for (const l of layers) known.resolve(l)
    const backend = await this.backend(flags.backend)
    const s = await this.inNamespace('stack-create', {name: args.name, layers, backend, verity: flags.verity}, {map: flags.map})
    this.out(createdStack(s))
    return s
  }
}
