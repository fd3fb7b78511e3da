import {Args} from '@oclif/core'
import {StrataCommand, checkStackBeforeDashes} from '../src/cli/command.js'
import {usage} from '../src/errors.js'
import {runInStack} from '../src/runtime/run.js'
import {sandboxRun} from '../src/runtime/sandbox.js'
import {checkSandboxFlags, commandOf, sandboxFlags} from '../src/cli/sandbox-flags.js'

export default class Run extends StrataCommand {
  static summary = 'Run a command in a stack, rootless'
  static description = "Mounts the stack in a fresh user and mount namespace (or joins its session when it is mounted) and runs CMD with the merged view as its working directory. Writes land in the stack's upper. With --root, CMD runs in a sandbox chrooted into the stack. Exits with CMD's status (128+signal when killed)."
  static examples = [
    '<%= config.bin %> run dev -- sh -c "echo hi > greeting"',
    '<%= config.bin %> run --root dev --net none --volume ./src:/src:ro --workdir /src -- make',
  ]
  static usage = ['STACK -- CMD...', '--root [-e NAME=VALUE]... [-v HOST:PATH[:ro]]... [-w DIR] [--user UID[:GID]] [FLAGS] STACK -- CMD...']
  static strict = false
  static args = {stack: Args.string({description: 'stack to run in', required: true, ignoreStdin: true})}
  static flags = sandboxFlags
  static enableJsonFlag = false

  async run(): Promise<void> {
    const {args, raw, flags} = await this.parse(Run)
    const cmd = commandOf(raw)
    checkStackBeforeDashes(this.argv, args.stack, 'run')
    checkSandboxFlags(flags)
    if (cmd.length === 0) throw usage('no command to run', 'give one after --: `strata run STACK -- CMD...`')
    // the command gets Ctrl-C; we wait for its status
    process.on('SIGINT', () => {})
    process.on('SIGQUIT', () => {})
    const r = flags.root
      ? await sandboxRun(this.home, this.mapping(flags.map), args.stack, cmd, flags, this.ops(flags.map))
      : await runInStack(this.home, this.mapping(flags.map), args.stack, cmd, this.ops(flags.map))
    process.exitCode = r.status
  }
}
