import {Flags} from '@oclif/core'
import {StrataCommand} from '../src/cli/command.js'
import {count} from '../src/cli/words.js'
import type {CheckResult} from '../src/care/check.js'

export default class Check extends StrataCommand {
  static summary = 'Verify the store: objects, layers, stacks'
  static description = 'Rehashes every object against its name, every layer tree against its id, and checks that every stub finds its object and every stack its layers. Exits 6 when it finds damage. --repair removes what interrupted commands left behind and moves damaged objects aside.'
  static examples = ['<%= config.bin %> check', '<%= config.bin %> check --repair']
  static flags = {
    repair: Flags.boolean({description: 'remove leftovers of interrupted commands; move damaged objects aside'}),
    quick: Flags.boolean({description: "don't rehash object data (metadata checks only)"}),
    wait: Flags.boolean({description: 'with --repair: wait for commands adding to the store to finish, rather than refuse'}),
  }

  async run(): Promise<CheckResult> {
    const {flags} = await this.parse(Check)
    this.home.requireReadable()
    const r = await this.inNamespace('check', {repair: flags.repair, data: !flags.quick, wait: flags.wait})
    for (const p of r.problems) this.out(`damaged: ${p.message}`)
    if (r.leftovers.length && !flags.repair) this.out(`${count(r.leftovers.length, 'leftover')} of interrupted commands under tmp/ (not damage; \`strata check --repair\` or \`strata gc\` removes them)`)
    for (const x of r.repaired) this.out(x)
    this.out(`${r.ok ? 'ok' : 'DAMAGED'}: ${count(r.counts.objects, 'object')}, ${count(r.counts.layers, 'layer')}, ${count(r.counts.stacks, 'stack')} checked${r.problems.length ? `, ${count(r.problems.length, 'problem')}` : ''}`)
    if (!r.ok) process.exitCode = 6
    return r
  }
}
