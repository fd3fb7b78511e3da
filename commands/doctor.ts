import {Flags} from '@oclif/core'
import {StrataCommand} from '../src/cli/command.js'
import {diagnose, type Diagnosis} from '../src/care/doctor.js'
import type {Mapping} from '../src/runtime/idmap.js'

export default class Doctor extends StrataCommand {
  static summary = 'Check what this machine lets strata do'
  static description =
    "Tries what strata needs for this store, in order — the runtime directory, an id mapping, a user namespace, user xattrs on the store's filesystem, overlayfs, data-only lower layers, fuse-overlayfs — and says what works, what does not, and how to fix it. The verdict is what `--backend auto` would choose: exit 0 naming that backend, 5 when no backend works or the store's filesystem can't hold a store. Creates no store; its fresh probe replaces the one cached for the store's filesystem."
  static examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --refresh']
  static flags = {
    refresh: Flags.boolean({description: 'also forget the probe answers cached for every other filesystem'}),
    map: Flags.string({description: 'check this id mapping instead of the store\'s (auto or single)', options: ['auto', 'single']}),
  }

  async run(): Promise<Diagnosis> {
    const {flags} = await this.parse(Doctor)
    const d = await diagnose(this.home, (map?: Mapping) => this.ops(map).probe, {refresh: flags.refresh, map: flags.map})
    for (const c of d.checks) this.out(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}: ${c.detail}${!c.ok && c.fix ? ` — ${c.fix}` : ''}`)
    if (d.probe !== null) {
      this.out('root sessions (run --root, shell --root, mount --root, exec into one):')
      for (const p of d.protections ?? []) this.out(`${p.enforced ? 'ok  ' : 'MISS'}  ${p.name}${p.why ? `: ${p.why}` : ''}`)
    }
    if (d.usable) this.out(`strata can run stacks here (backend: ${d.backend}): ${d.why}`)
    else this.out(`strata cannot run stacks here: ${d.why}${d.backend ? ` (stacks alone would mount with ${d.backend})` : ''} — fix what failed above`)
    if (!d.usable) process.exitCode = 5
    return d
  }
}
