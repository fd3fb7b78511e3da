import {Flags} from '@oclif/core'
import {StrataCommand} from '../src/cli/command.js'
import {count} from '../src/cli/words.js'
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
    this.home.requireReadable()
    const r = await this.inNamespace('gc', {dryRun: flags['dry-run'], wait: flags.wait})
    const verb = r.dryRun ? 'would remove' : 'removed'
    this.out(
      `${verb} ${count(r.objects.removed, 'object')} (${bytes(r.objects.bytes)}), ${count(r.composed.removed, 'composed tree')}, ${count(r.flat.removed, 'materialized tree')}, ` +
        `${count(r.digests.removed, 'digest cache')}, ${count(r.leftovers.removed, 'leftover')}; kept ${count(r.objects.kept, 'object')}`,
    )
    return r
  }
}
