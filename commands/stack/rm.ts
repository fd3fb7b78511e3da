import {Args, Flags} from '@oclif/core'
import {StrataCommand} from '../../src/cli/command.js'
import {onUnmountedStack} from '../../src/services/unmounted.js'

export default class StackRm extends StrataCommand {
  static summary = 'Remove a stack and its upper (its layers stay)'
  static examples = ['<%= config.bin %> stack rm dev', '<%= config.bin %> stack rm dev --force']
  static args = {name: Args.string({description: 'stack name', required: true, ignoreStdin: true})}
  static flags = {force: Flags.boolean({description: 'stop the stack\'s session first if it is mounted'})}

  async run(): Promise<{removed: string}> {
    const {args, flags} = await this.parse(StackRm)
    const r = await onUnmountedStack(this.home, args.name, flags.force, () => this.inNamespace('stack-rm', {name: args.name}))
    this.out(`removed stack ${r.removed}`)
    return r
  }
}
