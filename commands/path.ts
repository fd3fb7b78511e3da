import {Args} from '@oclif/core'
import {StrataCommand} from '../src/cli/command.js'
import {Sessions} from '../src/runtime/session.js'
import {environment} from '../src/errors.js'

export default class Path extends StrataCommand {
  static summary = "Print a host path to a mounted stack's merged view"
  static description = "The path goes through the holder's /proc/PID/root: the same user's editors and tools can read and write the stack there while it is mounted."
  static examples = ['<%= config.bin %> path dev', 'ls "$(<%= config.bin %> path dev)/etc"']
  static args = {stack: Args.string({description: 'mounted stack', required: true, ignoreStdin: true})}

  async run(): Promise<{stack: string; pid: number; path: string}> {
    const {args} = await this.parse(Path)
    const sessions = new Sessions(this.home)
    const s = await sessions.require(args.stack)
    // FUSE refuses every process outside the mount's user namespace, the owner's own tools included
    if (s.backend === 'fuse')
      throw environment(`stack '${s.stack}' is mounted with fuse-overlayfs, whose files no process outside the session can open`, `use \`strata exec ${s.stack} -- CMD\` or \`strata shell ${s.stack}\`, or a stack with the kernel backend`)
    const path = sessions.path(s)
    this.out(path)
    return {stack: s.stack, pid: s.pid, path}
  }
}
