import {Args, Flags} from '@oclif/core'
import {resolve} from 'node:path'
import {StrataCommand} from '../src/cli/command.js'
import {count} from '../src/cli/words.js'
import {bytes} from '../src/progress.js'
import type {StampResult} from '../src/import/stamp.js'

export default class Stamp extends StrataCommand {
  static summary = 'Turn a tree into stub form in place, its file data moved into an object directory'
  static description =
    'Plumbing for people who keep their own directories. Each file over the inline limit is moved by rename into DIR under its fs-verity digest (dropped when DIR has it already) and replaced by a sparse stub carrying its metadata, so `mount -t overlay -o lowerdir=TREE::DIR,userxattr` works without strata. --check verifies a stamped tree against DIR; --undo puts the data back.'
  static examples = ['<%= config.bin %> stamp ./rootfs --objects ./objects', '<%= config.bin %> stamp ./rootfs --objects ./objects --check', '<%= config.bin %> stamp ./rootfs --objects ./objects --undo']
  static args = {tree: Args.string({description: 'the tree to stamp', required: true, ignoreStdin: true})}
  static flags = {
    objects: Flags.string({description: 'the object directory (created if missing)', required: true}),
    check: Flags.boolean({description: 'verify a stamped tree against the object directory', exclusive: ['undo']}),
    undo: Flags.boolean({description: 'put the data back into the stubs', exclusive: ['check']}),
    'inline-limit': Flags.integer({description: 'files up to this many bytes stay as they are', default: 64, min: 0}),
  }

  async run(): Promise<StampResult> {
    const {args, flags} = await this.parse(Stamp)
    const r = await this.inNamespace('stamp', {tree: resolve(args.tree), objects: resolve(flags.objects), check: flags.check, undo: flags.undo, inlineLimit: flags['inline-limit']})
    if (r.action === 'stamp') this.out(`stamped ${r.tree}: ${count(r.files, 'file')}, ${bytes(r.bytes)}; ${count(r.stored, 'new object')} (${r.moved} moved by rename), ${r.dropped} already there`)
    else if (r.action === 'check') this.out(`${r.tree}: ${count(r.files, 'stub')}, ${bytes(r.bytes)}, all readable from ${r.objects}`)
    else this.out(`restored ${count(r.files, 'file')} (${bytes(r.bytes)}) in ${r.tree}`)
    return r
  }
}
