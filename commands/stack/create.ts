import {Args} from '@oclif/core'
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

  async run(): Promise<StackInfo> {
    const {args, argv} = await this.parse(StackCreate)
    const layers = (argv as string[]).slice(1)
    const s = await this.inNamespace<StackInfo>('stack-create', {name: args.name, layers})
    this.out(`created stack ${s.name}: ${s.layers.map((l) => l.slice(0, 12)).join(' ')}`)
    return s
  }
}
