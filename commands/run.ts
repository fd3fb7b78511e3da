import {Args} from '@oclif/core'
import {StrataCommand} from '../src/cli/command.js'
import {usage} from '../src/cli/errors.js'
import {runInStack} from '../src/mount/run.js'

export default class Run extends StrataCommand {
  static summary = 'Run a command in a stack, rootless'
  static description = 'Mounts the stack in a fresh user and mount namespace and runs CMD with the merged view as its working directory. Writes land in the stack\'s upper. Exits with CMD\'s status (128+signal when killed).'
  static examples = ['<%= config.bin %> run dev -- sh -c "echo hi > greeting"']
  static strict = false
  static args = {stack: Args.string({description: 'stack to run in', required: true, ignoreStdin: true})}
  static enableJsonFlag = false

  async run(): Promise<void> {
    const {args, argv} = await this.parse(Run)
    const cmd = (argv as string[]).slice(1)
    if (cmd.length === 0) throw usage('no command to run', 'give one after --: `strata run STACK -- CMD...`')
    // the command gets Ctrl-C; we wait for its status
    process.on('SIGINT', () => {})
    process.on('SIGQUIT', () => {})
    const r = await runInStack(this.home, args.stack, cmd, (op, a, o) => this.inNamespace(op, a, o))
    process.exitCode = r.status
  }
}
