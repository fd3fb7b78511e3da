import {Args, Flags} from '@oclif/core'
import {StrataCommand} from '../src/cli/command.js'
import type {ImportResult} from '../src/layer/publish.js'
import {bytes} from '../src/cli/progress.js'

export default class Import extends StrataCommand {
  static summary = 'Import a directory tree as a layer'
  static description = 'Copies the tree into the store: file data once into the object store, the tree itself as stubs. Importing the same tree again gives the same layer id and stores nothing new.'
  static examples = ['<%= config.bin %> import ./rootfs --name base']
  static args = {source: Args.string({description: 'directory to import', required: true, ignoreStdin: true})}
  static flags = {
    name: Flags.string({char: 'n', description: 'name the layer (a name moves from any layer that had it)'}),
    'inline-limit': Flags.integer({description: 'files up to this many bytes are stored inline, not as objects', default: 64, min: 0}),
  }

  async run(): Promise<ImportResult> {
    const {args, flags} = await this.parse(Import)
    const r = await this.inNamespace<ImportResult>('import', {source: args.source, name: flags.name, inlineLimit: flags['inline-limit']})
    const l = r.layer
    this.out(`${r.existing ? 'already imported' : 'imported'} ${l.id.slice(0, 12)}${l.names.length ? ` (${l.names.join(', ')})` : ''}: ${l.counts.entries} entries, ${bytes(l.bytes.content)}`)
    if (!r.existing) this.out(`  ${l.bytes.objectsAdded} new objects, ${bytes(l.bytes.objectBytesAdded)} stored`)
    const s = l.skipped
    if (s.devices + s.sockets > 0) this.warn(`skipped ${s.devices} device nodes and ${s.sockets} sockets (they can't be kept rootless): ${s.paths.slice(0, 5).join(', ')}`)
    if (s.squashedOwners > 0) this.warn(`${s.squashedOwners} entries had owners outside the id mapping and now belong to you`)
    if (r.nameMovedFrom) this.warn(`name '${flags.name}' moved from layer ${r.nameMovedFrom.slice(0, 12)}`)
    return r
  }
}
