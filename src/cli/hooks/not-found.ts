// oclif's command_not_found hook: an unknown command is a usage error (exit 2),
// reported like every other error, as {"error": …} on stdout under --json.
import type {Hook} from '@oclif/core'
import {usage} from '../../errors.js'
import {reportError} from '../command.js'

const hook: Hook<'command_not_found'> = async function ({id, argv}) {
  const words = id.split(':')
  const ids = this.config.commandIDs
  // the deepest topic the words name, for the hint
  let depth = 0
  for (let i = words.length - 1; i > 0 && !depth; i--) if (ids.some((c) => c.startsWith(words.slice(0, i).join(':') + ':'))) depth = i
  const topic = words.slice(0, depth).join(':')
  const where = topic ? `strata ${topic.replace(/:/g, ' ')} --help` : 'strata --help'
  const json = (argv ?? []).includes('--json') || process.argv.includes('--json')
  reportError(usage(`unknown command '${words.slice(0, depth + 1).join(' ')}'`, `see \`${where}\` for the commands there are`), json)
}

export default hook
