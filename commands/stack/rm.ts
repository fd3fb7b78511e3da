import {Args, Flags} from '@oclif/core'
import {StrataCommand} from '../../src/cli/command.js'
import {StackStore} from '../../src/stack/stacks.js'
import {Sessions} from '../../src/runtime/session.js'

export default class StackRm extends StrataCommand {
  static summary = 'Remove stacks and their uppers (their layers stay)'
  static description = 'Every name is checked before anything is removed: an unknown stack removes none (exit 3). A mounted stack is refused (exit 4) unless --force, which stops its session first and says so.'
  static usage = 'NAME... [--force] [--json]'
  static examples = ['<%= config.bin %> stack rm dev', '<%= config.bin %> stack rm dev web', '<%= config.bin %> stack rm dev --force']
  static strict = false
  static args = {name: Args.string({description: 'stack names', required: true, ignoreStdin: true})}
  static flags = {force: Flags.boolean({description: "stop a mounted stack's session first (said on stderr)"})}

  async run(): Promise<{removed: string | string[]}> {
    const {argv, flags} = await this.parse(StackRm)
    const names = [...new Set(argv as string[])]
    const stacks = new StackStore(this.home)
    for (const n of names) stacks.get(n) // not found: say so before removing any, or entering the namespace
    const sessions = new Sessions(this.home)
    const removed: string[] = []
    for (const n of names) {
      const stopped = await sessions.ensureUnmounted(n, flags.force)
      if (stopped) this.warn(`--force: stopped the session of ${n} (pid ${stopped.pid}) first`)
      removed.push((await this.inNamespace('stack-rm', {name: n})).removed)
      this.out(`removed stack ${n}`)
    }
    return {removed: removed.length === 1 ? removed[0] : removed}
  }
}
