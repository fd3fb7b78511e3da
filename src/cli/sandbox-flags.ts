// What `run`, `shell` and `mount` share on their command lines: the sandbox
// flags (--root and what goes with it), their check, and the command to run.
import {Flags} from '@oclif/core'
import {usage} from '../errors.js'
import {mapFlag} from './command.js'

export const sandboxFlags = {
  root: Flags.boolean({description: 'run as a sandbox chrooted into the stack (own pid namespace, /proc, /dev, /tmp, hostname)'}),
  // multipleNonGreedy: one value per flag, so `--volume a:/a STACK` leaves the stack alone
  env: Flags.string({char: 'e', description: 'with --root: set NAME=VALUE (or pass NAME on from the host)', multiple: true, multipleNonGreedy: true}),
  workdir: Flags.string({char: 'w', description: 'with --root: working directory inside the stack (default /)'}),
  volume: Flags.string({char: 'v', description: 'with --root: bind HOST:PATH[:ro] into the sandbox (a :ro volume cannot be made writable from inside)', multiple: true, multipleNonGreedy: true}),
  net: Flags.string({description: "with --root: host network; none (a new network namespace with loopback up); or private (a namespace of its own with outbound access through pasta, the host's loopback at the gateway address)", options: ['host', 'none', 'private']}),
  publish: Flags.string({char: 'p', description: 'with --root --net private: forward host port HOSTPORT to the sandbox\'s PORT (TCP), as HOSTPORT:PORT', multiple: true, multipleNonGreedy: true}),
  user: Flags.string({description: 'with --root: run the command as UID[:GID] of the sandbox (default 0, root of the sandbox)'}),
  'cap-add': Flags.string({description: "with --root: add a capability to the default eleven (podman's), or ALL", multiple: true, multipleNonGreedy: true}),
  'cap-drop': Flags.string({description: 'with --root: drop a capability, or ALL', multiple: true, multipleNonGreedy: true}),
  seccomp: Flags.string({description: 'with --root: an OCI/podman seccomp JSON profile instead of the default filter, or unconfined (no filter)'}),
  'security-opt': Flags.string({description: "with --root: allow-missing starts the sandbox even where this machine can't enforce a protection (see `strata doctor`)", multiple: true, multipleNonGreedy: true}),
  hostname: Flags.string({description: 'with --root: the sandbox\'s hostname (default: the stack name)'}),
  map: mapFlag,
}

/** `exec`'s flags, as podman exec spells them: the session decides the rest. */
export const execFlags = {
  env: Flags.string({char: 'e', description: "set NAME=VALUE for the command (or pass NAME on from the host), over the host's environment, or a root session's", multiple: true, multipleNonGreedy: true}),
  workdir: Flags.string({char: 'w', description: "working directory inside the stack (default: the stack's root, or a root session's workdir)"}),
  user: Flags.string({description: 'in a root session: run the command as UID[:GID] of the sandbox (default: the session\'s --user, else 0); refused for a plain session, where every command runs as you'}),
}

/** Sandbox flags given without --root: say so rather than ignore them. */
export function checkSandboxFlags(flags: {root?: boolean; env?: string[]; workdir?: string; volume?: string[]; net?: string; publish?: string[]; hostname?: string; user?: string; 'cap-add'?: string[]; 'cap-drop'?: string[]; seccomp?: string; 'security-opt'?: string[]}) {
  if (flags.root) return
  const given = (['env', 'workdir', 'volume', 'net', 'publish', 'hostname', 'user', 'cap-add', 'cap-drop', 'seccomp', 'security-opt'] as const).filter((f) => flags[f] !== undefined)
  if (given.length) throw usage(`--${given[0]} only applies to a sandbox`, 'add --root')
}

/**
 * The command after the stack (`run STACK -- CMD ARGS...`), word for word:
 * taken from the parser's raw tokens, in order, since its argv drops
 * repeated words and a second `--` (`strata run S -- strata run S -- cat x`).
 */
export function commandOf(raw: Array<{type: string; input: string; arg?: string}>): string[] {
  return raw.filter((t) => t.type === 'arg' && t.arg === undefined).map((t) => t.input)
}
