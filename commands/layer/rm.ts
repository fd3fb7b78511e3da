import {Args, Flags} from '@oclif/core'
import {StrataCommand} from '../../src/cli/command.js'
import {LayerStore} from '../../src/layer/layers.js'
import {StackStore} from '../../src/stack/stacks.js'
import {conflict} from '../../src/errors.js'

export default class LayerRm extends StrataCommand {
  static summary = 'Remove layers (refused while a stack uses one)'
  static description = 'Layers are given by name, full id or an id prefix of at least 4 characters. Every one is checked before anything is removed: an unknown layer (exit 3) or one a stack uses (exit 4) removes none. Refused (exit 4) while another command reads a layer (a stack create, an export, gc or check), naming that command; --wait waits for the readers instead. Objects stay until `strata gc`.'
  static usage = 'LAYER... [--wait] [--json]'
  static examples = ['<%= config.bin %> layer rm base', '<%= config.bin %> layer rm old-1 old-2', '<%= config.bin %> layer rm base --wait']
  static strict = false
  static args = {layer: Args.string({description: 'layer names, ids or id prefixes', required: true, ignoreStdin: true})}
  static flags = {wait: Flags.boolean({description: 'wait for commands reading the layer to finish, rather than refuse'})}

  async run(): Promise<{removed: string | string[]}> {
    const {argv, flags} = await this.parse(LayerRm)
    // resolve and check use here first: a refusal shouldn't need a namespace, nor leave some removed
    const layers = new LayerStore(this.home)
    const stacks = new StackStore(this.home)
    const ids = [...new Set((argv as string[]).map((ref) => layers.resolve(ref)))]
    for (const id of ids) {
      const users = stacks.usersOf(id)
      if (users.length) throw conflict(`layer ${id.slice(0, 12)} is used by stack${users.length > 1 ? 's' : ''} ${users.join(', ')}`, 'remove those stacks first (`strata stack rm`)')
    }
    const removed: string[] = []
    for (const id of ids) {
      removed.push((await this.inNamespace('layer-rm', {ref: id, wait: flags.wait})).removed)
      this.out(`removed layer ${id.slice(0, 12)}`)
    }
    return {removed: removed.length === 1 ? removed[0] : removed}
  }
}
