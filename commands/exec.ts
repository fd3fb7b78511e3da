import {Args} from '@oclif/core'
import {StrataCommand} from '../src/cli/command.js'
import {usage} from '../src/errors.js'
import {commandOf} from '../src/cli/sandbox-flags.js'
import {Sessions} from '../src/runtime/session.js'
import {runCommand} from '../src/runtime/run.js'

export default class Exec extends StrataCommand {
  static summary = 'Run a command in a mounted stack (joins its session)'
  static description = "Enters the session's user and mount namespaces (nsenter, credentials preserved) and runs CMD with the merged view as its working directory, with the terminal. In a root session (`mount --root`), CMD runs inside the sandbox: its pid, uts (and net) namespaces too, chrooted into the stack, with the session's environment and workdir. Exits with CMD's status (128+signal when killed)."
  static examples = ['<%= config.bin %> exec dev -- make', '<%= config.bin %> exec dev -- sh -c "echo hi > greeting"']
  static strict = false
  static args = {stack: Args.string({description: 'mounted stack', required: true, ignoreStdin: true})}
  static enableJsonFlag = false

  async run(): Promise<void> {
    const {args, raw} = await this.parse(Exec)
    const cmd = commandOf(raw)
    if (cmd.length === 0) throw usage('no command to run', 'give one after --: `strata exec STACK -- CMD...`')
    const sessions = new Sessions(this.home)
    const s = await sessions.require(args.stack)
    const join = sessions.joinCommand(s, cmd)
    process.exitCode = (await runCommand(join.argv, '/', join.env)).status
  }
}
