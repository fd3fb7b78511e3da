import {Args} from '@oclif/core'
import {StrataCommand} from '../../src/cli/command.js'
import {count} from '../../src/cli/words.js'
import {LayerStore, type LayerInfo} from '../../src/layer/layers.js'
import {StackStore} from '../../src/stack/stacks.js'
import {bytes} from '../../src/progress.js'

export default class LayerInspect extends StrataCommand {
  static summary = 'Show a layer'
  static examples = ['<%= config.bin %> layer inspect base --json']
  static args = {layer: Args.string({description: 'layer name, id or id prefix', required: true, ignoreStdin: true})}

  async run(): Promise<LayerInfo & {usedBy: string[]}> {
    const {args} = await this.parse(LayerInspect)
    const layers = new LayerStore(this.home.requireReadable())
    const l = layers.get(layers.resolve(args.layer))
    const usedBy = new StackStore(this.home).usersOf(l.id)
    const c = l.counts
    this.out(
      [
        `layer ${l.id}`,
        `  names:   ${l.names.join(', ') || '-'}`,
        `  source:  ${l.source.kind} ${l.source.path}`,
        `  created: ${l.created}`,
        `  entries: ${c.entries} (${count(c.dirs, 'dir')}, ${count(c.stubs, 'stub')}, ${count(c.files, 'inline file')}, ${count(c.symlinks, 'symlink')}, ${count(c.fifos, 'fifo')}, ${count(c.whiteouts, 'whiteout')}, ${count(c.hardlinks, 'hardlink')})`,
        `  content: ${bytes(l.bytes.content)}`,
        `  skipped: ${count(l.skipped.devices, 'device')}, ${count(l.skipped.sockets, 'socket')}; ${count(l.skipped.squashedOwners, 'owner')} outside the id mapping${l.skipped.squashedOwners ? ' (--json: skipped.paths)' : ''}`,
        `  used by: ${usedBy.join(', ') || '-'}`,
      ].join('\n'),
    )
    return {...l, usedBy}
  }
}
