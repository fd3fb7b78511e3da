import {Args, Flags} from '@oclif/core'
import {StrataCommand} from '../src/cli/command.js'
import {checkLayerName} from '../src/layer/layers.js'
import {onUnmountedStack} from '../src/services/unmounted.js'
import type {CommitResult} from '../src/stack/commit.js'
import {bytes} from '../src/progress.js'

export default class Commit extends StrataCommand {
  static summary = "Turn a stack's changes into a new layer on top of it, and empty its upper"
  static description =
    "The upper's changes (what `strata diff` lists) become a layer in stub form — deletions as whiteouts, opaque directories as such — pushed on top of the stack's layers; the merged view stays the same. All or nothing: the stack changes only once the layer is published. With no changes, no layer is made. A mounted stack is refused unless --force stops its session."
  static examples = ['<%= config.bin %> commit dev', '<%= config.bin %> commit dev --name dev-2', '<%= config.bin %> commit dev --force']
  static args = {stack: Args.string({description: 'stack name', required: true, ignoreStdin: true})}
  static flags = {
    name: Flags.string({char: 'n', description: 'name the new layer; a name moves from any layer that had it'}),
    force: Flags.boolean({description: "stop the stack's session first if it is mounted"}),
  }

  async run(): Promise<{stack: string; layer: CommitResult['layer']; changes: number}> {
    const {args, flags} = await this.parse(Commit)
    if (flags.name !== undefined) checkLayerName(flags.name)
    const r = await onUnmountedStack(this.home, args.stack, flags.force, () => this.inNamespace('commit', {stack: args.stack, name: flags.name}))
    if (!r.layer) this.out(`nothing to commit: stack ${r.stack} has no changes`)
    else {
      const l = r.layer
      this.out(`committed ${r.changes} change${r.changes === 1 ? '' : 's'} of ${r.stack} as layer ${l.id.slice(0, 12)}${l.names.length ? ` (${l.names.join(', ')})` : ''}: ${l.counts.entries} entries, ${bytes(l.bytes.content)}`)
      const s = l.skipped
      if (s.devices + s.sockets > 0) this.warn(`left out ${s.devices} device nodes and ${s.sockets} sockets (they can't be kept rootless): ${s.paths.slice(0, 5).join(', ')}`)
      if (r.nameMovedFrom) this.warn(`name '${flags.name}' moved from layer ${r.nameMovedFrom.slice(0, 12)}`)
    }
    return {stack: r.stack, layer: r.layer, changes: r.changes}
  }
}
