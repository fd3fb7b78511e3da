import {Args} from '@oclif/core'
import {StrataCommand} from '../src/cli/command.js'
import {usage} from '../src/cli/errors.js'
import type {RunResult} from '../src/mount/run.js'

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
    const ignore = () => {}
    process.on('SIGINT', ignore) // the command gets Ctrl-C; we wait for its status
    process.on('SIGQUIT', ignore)
    const r = await this.inNamespace<RunResult>('run', {stack: args.stack, argv: cmd}, {stdin: true})
    process.exitCode = r.status
  }
}
