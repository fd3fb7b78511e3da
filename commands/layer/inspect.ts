import {Args} from '@oclif/core'
import {StrataCommand} from '../../src/cli/command.js'
import {LayerStore, type LayerInfo} from '../../src/layer/layers.js'
import {StackStore} from '../../src/stack/stacks.js'
import {bytes} from '../../src/progress.js'

export default class LayerInspect extends StrataCommand {
  static summary = 'Show a layer'
  static examples = ['<%= config.bin %> layer inspect base --json']
  static args = {layer: Args.string({description: 'layer name, id or id prefix', required: true, ignoreStdin: true})}

  async run(): Promise<LayerInfo & {usedBy: string[]}> {
    const {args} = await this.parse(LayerInspect)
    const layers = new LayerStore(this.home)
    const l = layers.get(layers.resolve(args.layer))
    const usedBy = new StackStore(this.home).usersOf(l.id)
    const c = l.counts
    this.out(
      [
        `layer ${l.id}`,
        `  names:   ${l.names.join(', ') || '-'}`,
        `  source:  ${l.source.kind} ${l.source.path}`,
        `  created: ${l.created}`,
        `  entries: ${c.entries} (${c.dirs} dirs, ${c.stubs} stubs, ${c.files} inline files, ${c.symlinks} symlinks, ${c.fifos} fifos, ${c.whiteouts} whiteouts, ${c.hardlinks} hardlinks)`,
        `  content: ${bytes(l.bytes.content)}`,
        `  skipped: ${l.skipped.devices} devices, ${l.skipped.sockets} sockets; ${l.skipped.squashedOwners} owners outside the id mapping (see --json: skipped.paths)`,
        `  used by: ${usedBy.join(', ') || '-'}`,
      ].join('\n'),
    )
    return {...l, usedBy}
  }
}
