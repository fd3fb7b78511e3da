import {Args, Flags} from '@oclif/core'
import {StrataCommand} from '../../src/cli/command.js'
import {LayerStore} from '../../src/layer/layers.js'
import {StackStore} from '../../src/stack/stacks.js'
import {conflict} from '../../src/errors.js'

export default class LayerRm extends StrataCommand {
  static summary = 'Remove a layer (refused while a stack uses it)'
  static description = 'Refused (exit 4) while a stack uses the layer, and while another command reads it (a stack create, an export, gc or check), naming that command; --wait waits for the readers instead.'
  static examples = ['<%= config.bin %> layer rm base', '<%= config.bin %> layer rm base --wait']
  static args = {layer: Args.string({description: 'layer name, id or id prefix', required: true, ignoreStdin: true})}
  static flags = {wait: Flags.boolean({description: 'wait for commands reading the layer to finish, rather than refuse'})}

  async run(): Promise<{removed: string}> {
    const {args, flags} = await this.parse(LayerRm)
    // resolve and check use here first: a refusal shouldn't need a namespace
    const id = new LayerStore(this.home).resolve(args.layer)
    const users = new StackStore(this.home).usersOf(id)
    if (users.length) throw conflict(`layer ${id.slice(0, 12)} is used by stack${users.length > 1 ? 's' : ''} ${users.join(', ')}`, 'remove those stacks first (`strata stack rm`)')
    const r = await this.inNamespace('layer-rm', {ref: id, wait: flags.wait})
    this.out(`removed layer ${r.removed.slice(0, 12)}`)
    return r
  }
}
