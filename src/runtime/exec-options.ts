// What a command started in a stack is given besides its words: -e/--env,
// -w/--workdir and --user, as podman spells them. Checked the same way for
// `run --root`/`mount --root` (sandbox.ts) and for `exec` into a session.
import {spawnSync} from 'node:child_process'
import {posix} from 'node:path'
import {notFound, usage} from '../errors.js'
import {hostTool} from '../exec.js'
import {joinArgv, type JoinOptions, type Session} from './session-state.js'

/** A path inside the stack, as an absolute normalized path; refused if `..` would leave the root. */
export function pathInStack(p: string, what: string): string {
  let depth = 0
  for (const part of p.split('/')) {
    if (part === '..') depth--
    else if (part && part !== '.') depth++
    if (depth < 0)
      throw usage(`${what} '${p}' is outside the stack`, `give a path inside the stack's root, e.g. /root or /srv/app`)
  }
  return posix.resolve('/', p)
}

/** `-e NAME=VALUE` sets NAME; `-e NAME` passes the host's value on (nothing when the host has none). */
export function envFlags(kvs: string[] | undefined, hostEnv: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {}
  for (const kv of kvs ?? []) {
    const eq = kv.indexOf('=')
    const key = eq < 0 ? kv : kv.slice(0, eq)
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw usage(`invalid --env '${kv}'`, 'give NAME=VALUE, or NAME to pass the host value on')
    if (eq >= 0) env[key] = kv.slice(eq + 1)
    else if (hostEnv[key] !== undefined) env[key] = hostEnv[key]!
  }
  return env
}

/** `--user UID[:GID]`, numbers only: ids inside the sandbox (there is no passwd lookup). */
export function checkUser(user: string | undefined): void {
  if (user !== undefined && !/^\d+(:\d+)?$/.test(user)) throw usage(`invalid --user '${user}'`, 'give UID or UID:GID as numbers, e.g. --user 1000:1000')
}

/**
 * `exec`'s flags against the session it joins. A plain session runs every
 * command as you (root of its user namespace, your own uid outside) in the
 * host's root with the stack mounted: there is no other user to be, so
 * --user is refused (exit 2) rather than ignored. Its -w is a directory of
 * the merged view, checked from inside the session (a FUSE mount refuses the
 * host), so that a missing one is exit 3 and not the command's status.
 */
export function execOptions(s: Session, flags: {env?: string[]; workdir?: string; user?: string}, hostEnv: NodeJS.ProcessEnv = process.env): JoinOptions {
  const opts: JoinOptions = {}
  if (flags.env) opts.env = envFlags(flags.env, hostEnv)
  if (flags.workdir !== undefined) opts.workdir = pathInStack(flags.workdir, '--workdir')
  checkUser(flags.user)
  if (flags.user !== undefined) {
    if (!s.root)
      throw usage(
        `--user only applies to a root session: '${s.stack}' is mounted without --root, where every command runs as you (root of its user namespace)`,
        `leave out --user, or remount it as a sandbox: \`strata umount ${s.stack} && strata mount --root ${s.stack}\``,
      )
    opts.user = flags.user
  }
  if (!s.root && opts.workdir !== undefined) {
    const dir = posix.join(s.mountpoint, opts.workdir)
    const [nsenter, ...args] = joinArgv(s, ['true'], dir)
    const r = spawnSync(hostTool(nsenter), args, {stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8'})
    if (r.status !== 0) {
      const why = (r.stderr || '').trim().split('\n')[0].split(': ').pop()
      throw notFound(`no directory ${opts.workdir} in stack '${s.stack}'${why ? ` (${why})` : ''}`, 'give -w/--workdir a directory that exists in the stack')
    }
  }
  return opts
}
