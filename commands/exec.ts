import {Args} from '@oclif/core'
import {StrataCommand, checkStackBeforeDashes} from '../src/cli/command.js'
import {usage} from '../src/errors.js'
import {commandOf, execFlags} from '../src/cli/sandbox-flags.js'
import {Sessions} from '../src/runtime/session.js'
import {runJoined} from '../src/runtime/session-state.js'
import {execOptions} from '../src/runtime/exec-options.js'

export default class Exec extends StrataCommand {
  static summary = 'Run a command in a mounted stack (joins its session)'
  static description = "Enters the session's user and mount namespaces (nsenter, credentials preserved) and runs CMD with the merged view as its working directory, with the terminal. In a root session (`mount --root`), CMD runs inside the sandbox: its pid, uts (and net) namespaces too, chrooted into the stack, with the session's environment and workdir. -e sets the command's environment, -w its directory in the stack; --user UID[:GID] (a root session only) its ids inside. Exits with CMD's status (128+signal when killed)."
  static examples = ['<%= config.bin %> exec dev -- make', '<%= config.bin %> exec dev -- sh -c "echo hi > greeting"', '<%= config.bin %> exec -e CC=clang -w /src --user 1000:1000 debian -- make']
  static usage = ['STACK -- CMD...', '[-e NAME[=VALUE]]... [-w DIR] [--user UID[:GID]] STACK -- CMD...']
  static strict = false
  static args = {stack: Args.string({description: 'mounted stack', required: true, ignoreStdin: true})}
  static flags = execFlags
  static enableJsonFlag = false

  async run(): Promise<void> {
    const {args, raw, flags} = await this.parse(Exec)
    const cmd = commandOf(raw)
    checkStackBeforeDashes(this.argv, args.stack, 'exec')
    if (cmd.length === 0) throw usage('no command to run', 'give one after --: `strata exec STACK -- CMD...`')
    const sessions = new Sessions(this.home)
    const s = await sessions.require(args.stack)
    const r = await runJoined(sessions.joinCommand(s, cmd, execOptions(s, flags)))
    if (r.failed) throw r.failed
    process.exitCode = r.status
  }
}
