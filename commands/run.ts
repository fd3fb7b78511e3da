import {Args, Flags} from '@oclif/core'
import {StrataCommand, checkStackBeforeDashes} from '../src/cli/command.js'
import {usage} from '../src/errors.js'
import {runInStack} from '../src/runtime/run.js'
import {StackStore} from '../src/stack/stacks.js'
import {sandboxRun} from '../src/runtime/sandbox.js'
import {storeMapping, type Mapping} from '../src/runtime/idmap.js'

export const sandboxFlags = {
  root: Flags.boolean({description: 'run as a sandbox chrooted into the stack (own pid namespace, /proc, /dev, /tmp, hostname)'}),
  // multipleNonGreedy: one value per flag, so `--volume a:/a STACK` leaves the stack alone
  env: Flags.string({char: 'e', description: 'with --root: set NAME=VALUE (or pass NAME on from the host)', multiple: true, multipleNonGreedy: true}),
  workdir: Flags.string({char: 'w', description: 'with --root: working directory inside the stack (default /)'}),
  volume: Flags.string({char: 'v', description: 'with --root: bind HOST:PATH[:ro] into the sandbox (a :ro volume cannot be made writable from inside)', multiple: true, multipleNonGreedy: true}),
  net: Flags.string({description: 'with --root: host network, or none (a new network namespace with loopback up)', options: ['host', 'none']}),
  user: Flags.string({description: 'with --root: run the command as UID[:GID] of the sandbox (default 0, root of the sandbox)'}),
  'cap-add': Flags.string({description: "with --root: add a capability to the default eleven (podman's), or ALL", multiple: true, multipleNonGreedy: true}),
  'cap-drop': Flags.string({description: 'with --root: drop a capability, or ALL', multiple: true, multipleNonGreedy: true}),
  seccomp: Flags.string({description: 'with --root: an OCI/podman seccomp JSON profile instead of the default filter, or unconfined (no filter)'}),
  'security-opt': Flags.string({description: "with --root: allow-missing starts the sandbox even where this machine can't enforce a protection (see `strata doctor`)", multiple: true, multipleNonGreedy: true}),
  hostname: Flags.string({description: 'with --root: the sandbox\'s hostname (default: the stack name)'}),
  map: Flags.string({description: 'id mapping of the store (recorded on first use)', options: ['auto', 'single']}),
}

/** Sandbox flags given without --root: say so rather than ignore them. */
export function checkSandboxFlags(flags: {root?: boolean; env?: string[]; workdir?: string; volume?: string[]; net?: string; hostname?: string; user?: string; 'cap-add'?: string[]; 'cap-drop'?: string[]; seccomp?: string; 'security-opt'?: string[]}) {
  if (flags.root) return
  const given = (['env', 'workdir', 'volume', 'net', 'hostname', 'user', 'cap-add', 'cap-drop', 'seccomp', 'security-opt'] as const).filter((f) => flags[f] !== undefined)
  if (given.length) throw usage(`--${given[0]} only applies to a sandbox`, 'add --root')
}

export default class Run extends StrataCommand {
  static summary = 'Run a command in a stack, rootless'
  static description = "Mounts the stack in a fresh user and mount namespace (or joins its session when it is mounted) and runs CMD with the merged view as its working directory. Writes land in the stack's upper. With --root, CMD runs in a sandbox chrooted into the stack. Exits with CMD's status (128+signal when killed)."
  static examples = [
    '<%= config.bin %> run dev -- sh -c "echo hi > greeting"',
    '<%= config.bin %> run --root dev --net none --volume ./src:/src:ro --workdir /src -- make',
  ]
  static usage = ['STACK -- CMD...', '--root [-e NAME=VALUE]... [-v HOST:PATH[:ro]]... [-w DIR] [--user UID[:GID]] [FLAGS] STACK -- CMD...']
  static strict = false
  static args = {stack: Args.string({description: 'stack to run in', required: true, ignoreStdin: true})}
  static flags = sandboxFlags
  static enableJsonFlag = false

  async run(): Promise<void> {
    const {args, argv, flags} = await this.parse(Run)
    const cmd = (argv as string[]).slice(1)
    checkStackBeforeDashes(this.argv, args.stack, 'run')
    checkSandboxFlags(flags)
    if (cmd.length === 0) throw usage('no command to run', 'give one after --: `strata run STACK -- CMD...`')
    // the command gets Ctrl-C; we wait for its status
    process.on('SIGINT', () => {})
    process.on('SIGQUIT', () => {})
    const map = (flags.map ?? process.env.STRATA_MAP) as Mapping | undefined
    // while this runs, no commit or reset may swap the upper underneath it
    const release = new StackStore(this.home).lock(args.stack, 'shared')
    try {
      const r = flags.root
        ? await sandboxRun(this.home, storeMapping(this.home, map), args.stack, cmd, flags, this.enter(map))
        : await runInStack(this.home, args.stack, cmd, this.enter(map))
      process.exitCode = r.status
    } finally {
      release()
    }
  }
}
