import {Args} from '@oclif/core'
import {StrataCommand} from '../src/cli/command.js'
import {Sessions} from '../src/runtime/session.js'
import {runJoined} from '../src/runtime/session-state.js'
import {sandboxRun} from '../src/runtime/sandbox.js'
import {checkSandboxFlags, sandboxFlags} from '../src/cli/sandbox-flags.js'

export default class Shell extends StrataCommand {
  static summary = 'Open an interactive shell in a mounted stack, or in a sandbox (--root)'
  static description = "Like `strata exec STACK -- $SHELL`: the session's namespaces, the merged view as working directory, the terminal, and the shell's exit status. With --root, the stack's own /bin/sh in a sandbox (as `strata run --root`), mounted or not. A root session (`mount --root`) is joined inside its sandbox, with the stack's /bin/sh."
  static examples = ['<%= config.bin %> shell dev', '<%= config.bin %> shell --root dev --net none']
  static args = {stack: Args.string({description: 'stack', required: true, ignoreStdin: true})}
  static flags = sandboxFlags
  static enableJsonFlag = false

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Shell)
    checkSandboxFlags(flags)
    process.on('SIGINT', () => {}) // the shell gets Ctrl-C; we wait for its status
    process.on('SIGQUIT', () => {})
    if (flags.root) {
      const r = await sandboxRun(this.home, this.mapping(flags.map), args.stack, ['/bin/sh'], flags, this.ops(flags.map))
      process.exitCode = r.status
      return
    }
    const sessions = new Sessions(this.home)
    const s = await sessions.require(args.stack)
    // a root session's shell is the stack's own: the host's $SHELL may not exist in it
    const r = await runJoined(sessions.joinCommand(s, [s.root ? '/bin/sh' : process.env.SHELL || '/bin/sh']))
    if (r.failed) throw r.failed
    process.exitCode = r.status
  }
}
