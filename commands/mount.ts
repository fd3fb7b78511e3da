import {Args} from '@oclif/core'
import {StrataCommand} from '../src/cli/command.js'
import {Sessions, type Session} from '../src/runtime/session.js'
import {startRootSession} from '../src/runtime/sandbox.js'
import {checkSandboxFlags, sandboxFlags} from '../src/cli/sandbox-flags.js'

export default class Mount extends StrataCommand {
  static summary = 'Keep a stack mounted in a session (a detached namespace holder); with --root, a long-lived sandbox'
  static description = 'Starts a holder process, in its own user and mount namespace and its own session (no terminal), that mounts the stack and keeps it mounted until `strata umount`. Returns once the mount is ready. Join it with `strata exec`/`shell`; reach it from the host with `strata path`. With --root, the holder is pid 1 of a sandbox set up as `strata run --root` makes one (/proc, /dev, /tmp, volumes, hostname, network), and `exec`/`shell` run chrooted inside it with its environment and workdir.'
  static examples = ['<%= config.bin %> mount dev', '<%= config.bin %> mount dev --json', '<%= config.bin %> mount --root dev --env LANG=C.UTF-8 --volume ./src:/src --workdir /src']
  static args = {stack: Args.string({description: 'stack to mount', required: true, ignoreStdin: true})}
  static flags = sandboxFlags

  async run(): Promise<Session & {path: string | null}> {
    const {args, flags} = await this.parse(Mount)
    checkSandboxFlags(flags)
    const mapping = this.mapping(flags.map)
    const sessions = new Sessions(this.home)
    const s = flags.root ? await startRootSession(this.home, mapping, args.stack, flags) : await sessions.start(args.stack, mapping)
    const path = sessions.path(s)
    // fuse-overlayfs has no host path (rootPath): say how to reach it instead
    const reach = path ? `host path: ${path}` : `no host path under fuse-overlayfs: use \`strata exec ${s.stack} -- CMD\``
    this.out(`mounted ${s.stack}${s.root ? ' as a sandbox' : ''} (session pid ${s.pid}); ${reach}`)
    return {...s, path}
  }
}
