import {StrataCommand} from '../src/cli/command.js'
import {diagnose, type Diagnosis} from '../src/care/doctor.js'

export default class Doctor extends StrataCommand {
  static summary = 'Check what this machine lets strata do'
  static description = 'Tries what strata needs — a user namespace with your id mapping, overlayfs in it, data-only lower layers, fuse-overlayfs — and says what works, what does not, and how to fix it. Exits 5 when strata cannot run stacks here.'
  static examples = ['<%= config.bin %> doctor']

  async run(): Promise<Diagnosis> {
    await this.parse(Doctor)
    const d = await diagnose(this.home, this.ops())
    for (const c of d.checks) this.out(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}: ${c.detail}${!c.ok && c.fix ? ` — ${c.fix}` : ''}`)
    this.out('root sessions (run --root, shell --root, mount --root, exec into one):')
    for (const p of d.protections ?? []) this.out(`${p.enforced ? 'ok  ' : 'MISS'}  ${p.name}${p.why ? `: ${p.why}` : ''}`)
    this.out(d.usable ? `strata can run stacks here (backend: ${d.backend})` : 'strata cannot run stacks here: fix what failed above')
    if (!d.usable) process.exitCode = 5
    return d
  }
}
