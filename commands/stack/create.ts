import {Args, Flags} from '@oclif/core'
import {StrataCommand} from '../../src/cli/command.js'
import type {StackInfo} from '../../src/stack/stacks.js'

export default class StackCreate extends StrataCommand {
  static summary = 'Create a stack of layers (top first)'
  static examples = ['<%= config.bin %> stack create dev tools base']
  static strict = false
  static args = {
    name: Args.string({description: 'name of the new stack', required: true, ignoreStdin: true}),
    layers: Args.string({description: 'layers, top first (names, ids or id prefixes)', required: true, ignoreStdin: true}),
  }
  static flags = {
    backend: Flags.string({description: 'how to mount it: kernel (data-only layers), kernel-flat, fuse, or auto: the first that works here (default: $STRATA_BACKEND or auto)', options: ['auto', 'kernel', 'kernel-flat', 'fuse']}),
    map: Flags.string({description: 'id mapping of a new store: auto (subordinate ids) or single (your id only)', options: ['auto', 'single']}),
  }

  async run(): Promise<StackInfo> {
    const {args, argv, flags} = await this.parse(StackCreate)
    const layers = (argv as string[]).slice(1)
    const backend = await this.backend(flags.backend)
    const s = await this.inNamespace('stack-create', {name: args.name, layers, backend}, {map: flags.map})
    this.out(`created stack ${s.name} (${s.backend}): ${s.layers.map((l) => l.slice(0, 12)).join(' ')}`)
    return s
  }
}
