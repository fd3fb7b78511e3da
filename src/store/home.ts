// Where a store lives and how it is laid out (docs/design.md, On-disk layout).
import {isWithin, makeDirs} from './fsutil.js'
import {homedir} from 'node:os'
import {accessSync, constants, existsSync, lstatSync, mkdirSync, readdirSync} from 'node:fs'
import {environment, notFound, usage} from '../errors.js'
import {join, resolve} from 'node:path'

export class Home {
  readonly root: string
  constructor(root?: string) {
    // absolute: the namespace's processes and session holders don't run in our working directory
    this.root = resolve(root ?? defaultHome())
  }
  get objects() { return join(this.root, 'objects') }
  get layers() { return join(this.root, 'layers') }
  get stacks() { return join(this.root, 'stacks') }
  get composed() { return join(this.root, 'cache', 'composed') }
  get flat() { return join(this.root, 'cache', 'flat') }
  get digests() { return join(this.root, 'cache', 'digests') }
  get tmp() { return join(this.root, 'tmp') }
  get storeFile() { return join(this.root, 'store.json') }

  layer(id: string) { return join(this.layers, id) }
  stack(name: string) { return join(this.stacks, name) }

  /**
   * Where an existing directory stands to the store (compared as real paths,
   * so symlinks hide neither): 'inside' it, 'holds' it (the store is below),
   * or null. Imports refuse the one and leave the store out of the other.
   */
  relationTo(dir: string): 'inside' | 'holds' | null {
    return isWithin(dir, this.root) ? 'inside' : isWithin(this.root, dir) ? 'holds' : null
  }

  /**
   * For commands that only read the store: one that isn't there (a
   * STRATA_HOME that names nothing) or can't be read is said so, rather than
   * listed as empty. A default store not made yet is empty: nothing to say.
   */
  requireReadable(): this {
    const named = process.env.STRATA_HOME ? ' (STRATA_HOME)' : ''
    try {
      accessSync(this.root, constants.R_OK | constants.X_OK)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        if (!named) return this
        throw notFound(`there is no store at ${this.root}${named}`, 'check STRATA_HOME, or make the store there by importing something (`strata import DIR`)')
      }
      if (code === 'EACCES') throw usage(`cannot read the store at ${this.root}${named}: permission denied`, 'check the permissions of that directory and its parents, or set STRATA_HOME to your own store')
      throw e
    }
    if (existsSync(join(this.root, 'layers')) || existsSync(this.storeFile) || readdirSync(this.root).length === 0) return this
    throw notFound(`there is no store at ${this.root}${named}: it holds other things`, 'check STRATA_HOME')
  }

  /** Creates the skeleton (mode 0700 at the top); cheap when it exists. */
  ensure(): this {
    makeDirs(this.root, 0o700)
    for (const d of [this.objects, this.layers, this.stacks, this.composed, this.flat, this.tmp]) makeDirs(d, 0o755)
    return this
  }
}

export function defaultHome(): string {
  if (process.env.STRATA_HOME) return process.env.STRATA_HOME
  const data = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share')
  return join(data, 'strata')
}

let trusted: {base: string; dir: string} | undefined
/**
 * Where sessions, results and the probe cache live: `$XDG_RUNTIME_DIR/strata`,
 * else `/tmp/strata-UID/strata`. Used only when each of its directories is
 * ours and nobody else can write it (as podman and systemd require): another
 * user who made /tmp/strata-UID first could otherwise choose our backend or
 * plant session state. Made (mode 0700) when missing; refused, naming it, when not ours.
 */
export function runtimeDir(): string {
  const uid = process.getuid!()
  const fromEnv = process.env.XDG_RUNTIME_DIR
  const base = fromEnv || `/tmp/strata-${uid}`
  if (trusted?.base === base) return trusted.dir
  const dir = join(base, 'strata')
  for (const d of [base, dir]) {
    if (d === dir || !fromEnv || !existsSync(d)) {
      try {
        // an XDG_RUNTIME_DIR named but not there yet is made, as ours (then it passes the checks below)
        mkdirSync(d, {mode: 0o700, recursive: d === base && !!fromEnv})
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code !== 'EEXIST') throw environment(`cannot make the runtime directory ${d} (${code})`, 'set XDG_RUNTIME_DIR to a directory of yours')
      }
    }
    const st = lstatSync(d)
    const why = !st.isDirectory() ? 'is not a directory' : st.uid !== uid ? `belongs to uid ${st.uid}, not you (${uid})` : st.mode & 0o022 && (d === dir || !fromEnv) ? `can be written by others (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})` : null
    if (why)
      throw environment(`the runtime directory ${d} ${why}, so strata can't trust what it holds`, d === base && !fromEnv ? 'remove it (another user may have made it), or set XDG_RUNTIME_DIR to a directory of yours' : 'set XDG_RUNTIME_DIR to a directory of yours, mode 0700')
  }
  trusted = {base, dir}
  return dir
}
