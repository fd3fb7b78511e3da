import {Args} from '@oclif/core'
import {StrataCommand} from '../../src/cli/command.js'
import {StackStore} from '../../src/stack/stacks.js'

export default class StackRm extends StrataCommand {
  static summary = 'Remove a stack and its upper (its layers stay)'
  static examples = ['<%= config.bin %> stack rm dev']
  static args = {name: Args.string({description: 'stack name', required: true, ignoreStdin: true})}

  async run(): Promise<{removed: string}> {
    const {args} = await this.parse(StackRm)
    new StackStore(this.home).get(args.name) // not found: say so before entering the namespace
    const r = await this.inNamespace<{removed: string}>('stack-rm', {name: args.name})
    this.out(`removed stack ${r.removed}`)
    return r
  }
}
