// The shell completion scripts shipped in completions/, and where each shell
// looks for them.
import {readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

export const shells = ['bash', 'zsh', 'fish'] as const
export type Shell = (typeof shells)[number]

const files: Record<Shell, string> = {bash: 'strata.bash', zsh: '_strata', fish: 'strata.fish'}

export interface CompletionScript {
  shell: Shell
  file: string // the script in the package
  script: string
  install: {user: string; system: string} // where to put it
}

export function completionScript(shell: Shell, packageRoot: string): CompletionScript {
  const file = join(packageRoot, 'completions', files[shell])
  const data = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share')
  const config = process.env.XDG_CONFIG_HOME || join(homedir(), '.config')
  const install = {
    bash: {user: join(process.env.BASH_COMPLETION_USER_DIR || join(data, 'bash-completion'), 'completions', 'strata'), system: '/usr/share/bash-completion/completions/strata'},
    zsh: {user: join(data, 'zsh', 'site-functions', '_strata'), system: '/usr/local/share/zsh/site-functions/_strata'},
    fish: {user: join(config, 'fish', 'completions', 'strata.fish'), system: '/usr/share/fish/vendor_completions.d/strata.fish'},
  }[shell]
  return {shell, file, script: readFileSync(file, 'utf8'), install}
}

/** What to tell a person at a terminal. */
export function installHint(s: CompletionScript): string {
  const extra = {
    bash: '(bash-completion loads it on first use; or `source` it from ~/.bashrc)',
    zsh: `(that directory must be on $fpath before compinit runs: fpath=(${s.install.user.replace(/\/_strata$/, '')} $fpath) in ~/.zshrc)`,
    fish: '(fish loads it on first use)',
  }[s.shell]
  return `To install, save this script as\n  ${s.install.user}\nor, for every user,\n  ${s.install.system}\n${extra}\n  e.g. strata completion ${s.shell} > ${s.install.user}\n`
}
