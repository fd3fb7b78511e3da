import {Args, loadHelpClass} from '@oclif/core'
import {StrataCommand} from '../src/cli/command.js'
import {usage} from '../src/errors.js'

export default class Help extends StrataCommand {
  static summary = 'Show help for strata, a topic or a command'
  static description = 'The same text as `--help` (or `-h`) after the command: `strata help stack create` is `strata stack create --help`.'
  static examples = ['<%= config.bin %> help', '<%= config.bin %> help stack', '<%= config.bin %> help stack create']
  static strict = false
  static args = {command: Args.string({description: 'a topic or command, its words separated by spaces', required: false, ignoreStdin: true})}
  static enableJsonFlag = false

  async run(): Promise<void> {
    const {argv} = await this.parse(Help)
    const words = argv as string[]
    const id = words.join(':')
    // an unknown name is a usage error, as an unknown command is
    if (id && !this.config.findCommand(id) && !this.config.findTopic(id))
      throw usage(`no command or topic '${words.join(' ')}'`, 'see `strata help` for the commands there are')
    const HelpClass = await loadHelpClass(this.config)
    await new HelpClass(this.config, this.config.pjson.oclif.helpOptions).showHelp(words)
  }
}
