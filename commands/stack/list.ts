import {StrataCommand} from '../../src/cli/command.js'
import {StackStore, type StackInfo} from '../../src/stack/stacks.js'
import {LayerStore} from '../../src/layer/layers.js'
import {table} from '../../src/cli/table.js'

export default class StackList extends StrataCommand {
  static summary = 'List stacks'
  static examples = ['<%= config.bin %> stack list']
  static aliases = ['stack ls']

  async run(): Promise<{stacks: StackInfo[]}> {
    await this.parse(StackList)
    const stacks = new StackStore(this.home.requireReadable()).list()
    const layers = new LayerStore(this.home)
    const label = (id: string) => (layers.has(id) ? layers.get(id).names[0] : undefined) ?? id.slice(0, 12)
    this.out(table(['NAME', 'LAYERS (top first)', 'CREATED'], stacks.map((s) => [s.name, s.layers.map(label).join(' '), s.created])))
    return {stacks}
  }
}
