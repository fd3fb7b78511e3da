import {StrataCommand} from '../src/cli/command.js'
import {sessionList} from '../src/cli/views.js'

export default class Ps extends StrataCommand {
  static summary = 'List sessions (mounted stacks), and stale ones whose holder died'
  static examples = ['<%= config.bin %> ps', '<%= config.bin %> ps --json']

  async run() {
    await this.parse(Ps)
    return this.show(sessionList(this.home))
  }
}
