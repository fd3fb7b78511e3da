import {Args} from '@oclif/core'
import {basename} from 'node:path'
import {usage} from '../src/errors.js'
import {StrataCommand} from '../src/cli/command.js'
import {completionScript, installHint, shells, type CompletionScript} from '../src/cli/completion-scripts.js'

export default class Completion extends StrataCommand {
  static summary = 'Print the shell completion script for bash, zsh or fish (default: your $SHELL)'
  static description = 'Prints the script on stdout; on a terminal, also says where to install it (on stderr). The scripts ask `strata __complete` for candidates, so they never go stale.'
  static examples = ['<%= config.bin %> completion bash > ~/.local/share/bash-completion/completions/strata', '<%= config.bin %> completion fish > ~/.config/fish/completions/strata.fish']
  static args = {shell: Args.string({description: 'bash, zsh or fish (default: the one $SHELL names)', required: false, options: [...shells], ignoreStdin: true})}

  async run(): Promise<Omit<CompletionScript, 'file'>> {
    const {args} = await this.parse(Completion)
    const shell = args.shell ?? basename(process.env.SHELL ?? '')
    if (!(shells as readonly string[]).includes(shell))
      throw usage(process.env.SHELL ? `no completion for $SHELL (${process.env.SHELL})` : 'which shell? $SHELL is not set', 'name one: `strata completion bash|zsh|fish`')
    const s = completionScript(shell as CompletionScript['shell'], this.config.root)
    if (!this.jsonEnabled()) {
      process.stdout.write(s.script)
      if (process.stderr.isTTY) process.stderr.write(installHint(s))
    }
    return {shell: s.shell, script: s.script, install: s.install}
  }
}
