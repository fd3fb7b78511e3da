import {Args, Flags} from '@oclif/core'
import {resolve} from 'node:path'
import {usage} from '../../src/errors.js'
import {StrataCommand} from '../../src/cli/command.js'
import {count} from '../../src/cli/words.js'
import {bytes} from '../../src/progress.js'
import {type LayerExport, tarTarget} from '../../src/export/export.js'

export default class LayerExportCmd extends StrataCommand {
  static summary = 'Write a layer as a tar file'
  static description = 'Whiteouts become OCI .wh. entries and opaque directories .wh..wh..opq; user xattrs go in PAX SCHILY.xattr records and mtimes keep their nanoseconds. `strata import` of the file gives the same layer id.'
  static examples = ['<%= config.bin %> layer export base -o base.tar', '<%= config.bin %> layer export base -o - | zstd > base.tar.zst']
  static args = {layer: Args.string({description: 'layer name, id or id prefix', required: true, ignoreStdin: true})}
  static flags = {output: Flags.string({char: 'o', description: 'the tar file to write (replaced atomically), or - for standard output', required: true})}

  async run(): Promise<LayerExport> {
    const {args, flags} = await this.parse(LayerExportCmd)
    const {output, stream} = tarTarget(flags.output === '-' ? '-' : resolve(flags.output))
    if (output === '-' && this.jsonEnabled()) throw usage('--json and the tar would both go to standard output', 'give --output a file, or leave out --json')
    if (output === '-' && process.stdout.isTTY) throw usage('refusing to write a tar to a terminal', 'redirect standard output, or give --output a file')
    const r = await this.inNamespace('layer-export', {ref: args.layer, output})
    const said = `exported ${r.layer.slice(0, 12)} to ${r.output === '-' ? 'standard output' : r.output}: ${count(r.entries, 'entry', 'entries')}, ${bytes(r.bytes)}`
    // the tar may be going to our standard output: the summary goes to stderr then
    if (stream) {
      if (!this.jsonEnabled()) process.stderr.write(said + '\n')
    } else this.out(said)
    return r
  }
}
