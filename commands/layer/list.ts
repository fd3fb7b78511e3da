import {StrataCommand} from '../../src/cli/command.js'
import {layerList} from '../../src/cli/views.js'

export default class LayerList extends StrataCommand {
  static summary = 'List layers'
  static examples = ['<%= config.bin %> layer list']
  static aliases = ['layer ls']

  async run() {
    await this.parse(LayerList)
    return this.show(layerList(this.home))
  }
}
