import {Args, Flags} from '@oclif/core'
import {StrataCommand} from '../src/cli/command.js'
import {storeMapping, type Mapping} from '../src/ns/idmap.js'
import {Sessions, type Session} from '../src/mount/session.js'

export default class Mount extends StrataCommand {
  static summary = 'Keep a stack mounted in a session (a detached namespace holder)'
  static description = 'Starts a holder process, in its own user and mount namespace and its own session (no terminal), that mounts the stack and keeps it mounted until `strata umount`. Returns once the mount is ready. Join it with `strata exec`/`shell`; reach it from the host with `strata path`.'
  static examples = ['<%= config.bin %> mount dev', '<%= config.bin %> mount dev --json']
  static args = {stack: Args.string({description: 'stack to mount', required: true, ignoreStdin: true})}
  static flags = {map: Flags.string({description: 'id mapping of the store (recorded on first use)', options: ['auto', 'single']})}

  async run(): Promise<Session & {path: string}> {
    const {args, flags} = await this.parse(Mount)
    const mapping = storeMapping(this.home, (flags.map ?? process.env.STRATA_MAP) as Mapping | undefined)
    const sessions = new Sessions(this.home)
    const s = await sessions.start(args.stack, mapping)
    const path = sessions.path(s)
    this.out(`mounted ${s.stack} (session pid ${s.pid}); host path: ${path}`)
    return {...s, path}
  }
}
