import {Args} from '@oclif/core'
import {StrataCommand} from '../src/cli/command.js'
import {sessionPath} from '../src/cli/views.js'

export default class Path extends StrataCommand {
  static summary = "Print a host path to a mounted stack's merged view"
  static description = "The path goes through the holder's /proc/PID/root: the same user's editors and tools can read and write the stack there while it is mounted."
  static examples = ['<%= config.bin %> path dev', 'ls "$(<%= config.bin %> path dev)/etc"']
  static args = {stack: Args.string({description: 'mounted stack', required: true, ignoreStdin: true})}

  async run() {
    const {args} = await this.parse(Path)
    return this.show(await sessionPath(this.home, args.stack))
  }
}
