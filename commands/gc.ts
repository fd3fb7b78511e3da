import {Flags} from '@oclif/core'
import {StrataCommand} from '../src/cli/command.js'
import type {GcResult} from '../src/care/gc.js'
import {bytes} from '../src/progress.js'

export default class Gc extends StrataCommand {
  static summary = 'Remove objects and caches nothing uses'
  static description = 'Removes objects no layer refers to, composed and materialized trees no stack uses, digest caches of sources whose layer is gone, and what interrupted commands left under tmp/. Refused (exit 4) while another command is adding to the store or checking it, naming that command; --wait waits for it instead.'
  static examples = ['<%= config.bin %> gc', '<%= config.bin %> gc --dry-run --json']
  static flags = {
    'dry-run': Flags.boolean({description: 'say what would be removed, remove nothing'}),
    wait: Flags.boolean({description: 'wait for commands adding to the store to finish, rather than refuse'}),
  }

  async run(): Promise<GcResult> {
    const {flags} = await this.parse(Gc)
    const r = await this.inNamespace('gc', {dryRun: flags['dry-run'], wait: flags.wait})
    const verb = r.dryRun ? 'would remove' : 'removed'
    this.out(
      `${verb} ${r.objects.removed} objects (${bytes(r.objects.bytes)}), ${r.composed.removed} composed trees, ${r.flat.removed} materialized trees, ` +
        `${r.digests.removed} digest caches, ${r.leftovers.removed} leftovers; kept ${r.objects.kept} objects`,
    )
    return r
  }
}
