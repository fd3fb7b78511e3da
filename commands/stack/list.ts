import {StrataCommand} from '../../src/cli/command.js'
import {stackList} from '../../src/cli/views.js'

export default class StackList extends StrataCommand {
  static summary = 'List stacks'
  static examples = ['<%= config.bin %> stack list']
  static aliases = ['stack ls']

  async run() {
    await this.parse(StackList)
    return this.show(stackList(this.home))
  }
}
