import {Args, Flags} from '@oclif/core'
import {StrataCommand} from '../../src/cli/command.js'
import {onUnmountedStack} from '../../src/services/unmounted.js'
import {StackStore} from '../../src/stack/stacks.js'

export default class StackRm extends StrataCommand {
  static summary = 'Remove stacks and their uppers (their layers stay)'
  static description = 'Every name is checked before anything is removed: an unknown stack removes none (exit 3). A mounted stack is refused (exit 4) unless --force, which stops its session first and says so; a stack another command uses (a run, diff, export or commit) is refused (exit 4) naming that command, and --wait waits for it instead.'
  static usage = 'NAME... [--force] [--wait] [--json]'
  static examples = ['<%= config.bin %> stack rm dev', '<%= config.bin %> stack rm dev web', '<%= config.bin %> stack rm dev --force']
  static strict = false
  static args = {name: Args.string({description: 'stack names', required: true, ignoreStdin: true})}
  static flags = {
    force: Flags.boolean({description: "stop a mounted stack's session first (said on stderr)"}),
    wait: Flags.boolean({description: 'wait for commands using the stack to finish, rather than refuse'}),
  }

  async run(): Promise<{removed: string | string[]}> {
    const {argv, flags} = await this.parse(StackRm)
    const names = [...new Set(argv as string[])]
    for (const n of names) new StackStore(this.home).get(n) // not found: say so before removing any, or entering the namespace
    const removed: string[] = []
    for (const n of names) {
      const r = await onUnmountedStack(this.home, n, flags.force, () => this.inNamespace('stack-rm', {name: n, wait: flags.wait}), (s) => this.warn(`--force: stopped the session of ${n} (pid ${s.pid}) first`))
      removed.push(r.removed)
      this.out(`removed stack ${n}`)
    }
    return {removed: removed.length === 1 ? removed[0] : removed}
  }
}
