import {Args, Flags} from '@oclif/core'
import {resolve} from 'node:path'
import {StrataCommand} from '../../src/cli/command.js'
import {bytes} from '../../src/cli/progress.js'
import type {LayerExport} from '../../src/layer/export.js'

export default class LayerExportCmd extends StrataCommand {
  static summary = 'Write a layer as a tar file'
  static description = 'Whiteouts become OCI .wh. entries and opaque directories .wh..wh..opq; user xattrs go in PAX SCHILY.xattr records and mtimes keep their nanoseconds. `strata import` of the file gives the same layer id.'
  static examples = ['<%= config.bin %> layer export base -o base.tar']
  static args = {layer: Args.string({description: 'layer name, id or id prefix', required: true, ignoreStdin: true})}
  static flags = {output: Flags.string({char: 'o', description: 'the tar file to write (replaced atomically)', required: true})}

  async run(): Promise<LayerExport> {
    const {args, flags} = await this.parse(LayerExportCmd)
    const r = await this.inNamespace<LayerExport>('layer-export', {ref: args.layer, output: resolve(flags.output)})
    this.out(`exported ${r.layer.slice(0, 12)} to ${r.output}: ${r.entries} entries, ${bytes(r.bytes)}`)
    return r
  }
}
