import {Args, Flags} from '@oclif/core'
import {StrataCommand} from '../src/cli/command.js'
import {onUnmountedStack} from '../src/services/unmounted.js'
import type {ResetResult} from '../src/stack/commit.js'

export default class Reset extends StrataCommand {
  static summary = "Discard a stack's changes: empty its upper"
  static description = "The stack goes back to what its layers show. What `strata diff` listed is gone for good. A mounted stack is refused unless --force stops its session."
  static examples = ['<%= config.bin %> reset dev', '<%= config.bin %> reset dev --force']
  static args = {stack: Args.string({description: 'stack name', required: true, ignoreStdin: true})}
  static flags = {force: Flags.boolean({description: "stop the stack's session first if it is mounted"})}

  async run(): Promise<ResetResult> {
    const {args, flags} = await this.parse(Reset)
    const r = await onUnmountedStack(this.home, args.stack, flags.force, () => this.inNamespace('reset', {stack: args.stack}))
    this.out(`discarded ${r.discarded} change${r.discarded === 1 ? '' : 's'} of ${r.stack}`)
    return r
  }
}
