import {Args} from '@oclif/core'
import {StrataCommand} from '../src/cli/command.js'
import {notFound} from '../src/errors.js'
import {StackStore} from '../src/stack/stacks.js'
import {Sessions} from '../src/runtime/session.js'

export default class Umount extends StrataCommand {
  static summary = "End a stack's session: its holder and every process left in its namespace"
  static examples = ['<%= config.bin %> umount dev']
  static args = {stack: Args.string({description: 'mounted stack', required: true, ignoreStdin: true})}

  async run(): Promise<{stack: string; pid: number; stale: boolean; stopped: number}> {
    const {args} = await this.parse(Umount)
    new StackStore(this.home).get(args.stack)
    const sessions = new Sessions(this.home)
    const s = sessions.read(args.stack)
    if (!s) throw notFound(`stack '${args.stack}' is not mounted`, 'see `strata ps`')
    const stale = sessions.state(s) === 'stale'
    const {stopped} = await sessions.stop(s)
    this.out(`unmounted ${s.stack} (session pid ${s.pid}${stale ? ', stale' : ''}; ${stopped} process${stopped === 1 ? '' : 'es'} ended)`)
    return {stack: s.stack, pid: s.pid, stale, stopped}
  }
}
