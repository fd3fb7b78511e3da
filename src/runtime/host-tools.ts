// The one finder of host tools (mount, ip, nsenter, unshare, pasta, …): by
// absolute path, since a user's PATH often lacks the sbin directories and a
// sandbox's PATH is not the host's. Node's own modules only: `strata exec`
// uses it on its start-up path.
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {environment} from '../errors.js'

const SYSTEM_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin']

/** The tool's absolute path: PATH first, then the system directories; an environment error naming the package if none. */
export function hostTool(name: string, install = 'install util-linux'): string {
  for (const dir of [...(process.env.PATH ?? '').split(':').filter((d) => d.startsWith('/')), ...SYSTEM_DIRS])
    if (existsSync(join(dir, name))) return join(dir, name)
  throw environment(`${name} is not installed, and the sandbox needs it`, install)
}
