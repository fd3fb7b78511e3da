import {Args} from '@oclif/core'
import {StrataCommand} from '../src/cli/command.js'
import {StackStore} from '../src/stack/stacks.js'
import type {DiffResult} from '../src/stack/commit.js'
import {changeLetter, shownPath} from '../src/cli/render-diff.js'

export default class Diff extends StrataCommand {
  static summary = "List what a stack's upper changed: added, changed, deleted and opaque paths"
  static description =
    "Compares the upper with what the stack's layers show, one line per change, as `git status --short`: A added, C changed (content, type or metadata), D deleted, O opaque (a directory that now hides everything the layers had in it). Directories end in '/'. A mounted stack can be diffed; its upper may change meanwhile."
  static examples = ['<%= config.bin %> diff dev', '<%= config.bin %> diff dev --json']
  static args = {stack: Args.string({description: 'stack name', required: true, ignoreStdin: true})}

  async run(): Promise<DiffResult> {
    const {args} = await this.parse(Diff)
    new StackStore(this.home).get(args.stack) // not found: say so before entering the namespace
    const r = await this.inNamespace('diff', {stack: args.stack})
    for (const c of r.changes) this.out(`${changeLetter[c.kind]} ${shownPath(c)}`)
    return r
  }
}
