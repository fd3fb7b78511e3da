import {Args} from '@oclif/core'
import {StrataCommand} from '../src/cli/command.js'
import {Sessions} from '../src/mount/session.js'
import {runCommand} from '../src/mount/run.js'

export default class Shell extends StrataCommand {
  static summary = 'Open an interactive shell in a mounted stack'
  static description = "Like `strata exec STACK -- $SHELL`: the session's namespaces, the merged view as working directory, the terminal, and the shell's exit status."
  static examples = ['<%= config.bin %> shell dev']
  static args = {stack: Args.string({description: 'mounted stack', required: true, ignoreStdin: true})}
  static enableJsonFlag = false

  async run(): Promise<void> {
    const {args} = await this.parse(Shell)
    const sessions = new Sessions(this.home)
    const s = await sessions.require(args.stack)
    const shell = process.env.SHELL || '/bin/sh'
    process.exitCode = (await runCommand(sessions.joinArgv(s, [shell, '-i']), '/')).status
  }
}
