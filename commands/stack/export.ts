import {Args, Flags} from '@oclif/core'
import {resolve} from 'node:path'
import {StrataCommand} from '../../src/cli/command.js'
import {bytes} from '../../src/progress.js'
import type {OciExport} from '../../src/export/export.js'
import {splitLayoutRef} from '../../src/format/oci.js'

export default class StackExport extends StrataCommand {
  static summary = "Write a stack's layers as an OCI image layout"
  static description = 'One image layer per strata layer (bottom first, as OCI lists them), a config with their diff ids, a manifest, and index.json tagging it (default tag: latest). Other images in an existing layout stay. The stack\'s upper (uncommitted changes) is not part of it.'
  static examples = ['<%= config.bin %> stack export dev --oci ./dev-image:v1', '<%= config.bin %> stack export dev --oci ./dev-image --gzip']
  static args = {stack: Args.string({description: 'the stack', required: true, ignoreStdin: true})}
  static flags = {
    oci: Flags.string({description: 'image layout directory, optionally with :TAG', required: true}),
    gzip: Flags.boolean({description: 'gzip the layers (default: uncompressed tars)'}),
  }

  async run(): Promise<OciExport> {
    const {args, flags} = await this.parse(StackExport)
    const {dir, ref: tag = 'latest'} = splitLayoutRef(flags.oci, {create: true})
    const r = await this.inNamespace('stack-export', {stack: args.stack, dir: resolve(dir), tag, compression: flags.gzip ? 'gzip' : 'none'})
    this.out(`exported stack ${args.stack} to ${r.layout}:${r.tag} (${r.manifest.slice(0, 19)}): ${r.layers.length} layers, ${bytes(r.layers.reduce((a, l) => a + l.size, 0))}`)
    return r
  }
}
