import {StrataCommand} from '../../src/cli/command.js'
import {LayerStore, type LayerInfo} from '../../src/layer/layers.js'
import {table} from '../../src/cli/table.js'
import {bytes} from '../../src/progress.js'

export default class LayerList extends StrataCommand {
  static summary = 'List layers'
  static examples = ['<%= config.bin %> layer list']
  static aliases = ['layer ls']

  async run(): Promise<{layers: LayerInfo[]}> {
    await this.parse(LayerList)
    const layers = new LayerStore(this.home.requireReadable()).list()
    this.out(table(['ID', 'NAMES', 'ENTRIES', 'SIZE', 'SOURCE'], layers.map((l) => [l.id.slice(0, 12), l.names.join(',') || '-', String(l.counts.entries), bytes(l.bytes.content), l.source.path])))
    return {layers}
  }
}
