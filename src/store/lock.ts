// Locks (docs/design.md, Locking): flock(2) shared/exclusive locks on the
// inode of what they guard — the store's lock file, a layer's or a stack's
// directory, a staging entry. The kernel releases them when their holder
// dies, so a killed command never leaves anything locked, and it says who
// holds one (/proc/locks), so a refusal can name the holder.
import {closeSync, fstatSync, openSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {sys} from '../sys.js'
import {conflict} from '../errors.js'

/**
 * A flock on the inode a path names. Removers rename what they remove out of
 * its place while they hold it exclusive, so a lock is only as good as the
 * path still naming the locked inode once it is ours: take() checks that.
 */
export class InodeLock {
  private constructor(private fd: number, readonly path: string) {}

  /**
   * The lock on path, taken shared or exclusive. 'busy' when another holds it
   * and wait is false; 'gone' when path names nothing, or (after waiting) no
   * longer the inode we locked: it was removed meanwhile.
   */
  static take(path: string, exclusive: boolean, wait: boolean): InodeLock | 'busy' | 'gone' {
    let fd: number
    try {
      fd = openSync(path, 'r')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return 'gone'
      throw e
    }
    try {
      // refused: a holder that finished between our try and a look at /proc/locks is no holder,
      // so when none is seen, try once more (else a refusal would name nobody)
      if (!sys.flock(fd, exclusive, wait) && (wait || lockHolders(path).length > 0 || !sys.flock(fd, exclusive, false))) {
        closeSync(fd)
        return 'busy'
      }
      const held = fstatSync(fd)
      const now = statSync(path, {throwIfNoEntry: false})
      if (!now || now.ino !== held.ino || now.dev !== held.dev) {
        closeSync(fd)
        return 'gone'
      }
    } catch (e) {
      closeSync(fd)
      throw e
    }
    return new InodeLock(fd, path)
  }

  release() {
    if (this.fd >= 0) closeSync(this.fd)
    this.fd = -1
  }
}

/** Who holds a lock on the inode at path, as "pid N (command)" phrases (empty when it can't tell). */
export function lockHolders(path: string): string[] {
  let st
  try {
    st = statSync(path)
  } catch {
    return []
  }
  // /proc/locks: "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" (major:minor in hex, inode in decimal)
  const want = `${(Number(st.dev) >> 8 & 0xfff).toString(16).padStart(2, '0')}:${(Number(st.dev) & 0xff | (Number(st.dev) >> 12 & 0xfff00)).toString(16).padStart(2, '0')}:${st.ino}`
  let table = ''
  try {
    table = readFileSync('/proc/locks', 'utf8')
  } catch {
    return []
  }
  const pids = new Set<number>()
  for (const line of table.split('\n')) {
    const f = line.trim().split(/\s+/)
    // blocked waiters are listed after "->": they don't hold it
    if (f[1] === '->' || f[1] !== 'FLOCK') continue
    if (f[5] === want && Number(f[4]) > 0 && Number(f[4]) !== process.pid) pids.add(Number(f[4]))
  }
  return [...pids].map((pid) => {
    const c = commandOf(pid)
    return c ? `pid ${pid} (${c})` : `pid ${pid}`
  })
}

/** A strata process's command line as the user typed it: `strata layer export big`. */
function commandOf(pid: number): string | null {
  let argv: string[]
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)
  } catch {
    return null
  }
  if (argv.length === 0) return null
  // the namespace's process serves the strata command that started it (unshare exec'd it: its parent)
  if (argv.length > 1 && /services\/inner\.js$/.test(argv[1])) return commandOf(parentOf(pid)) ?? 'strata'
  // strata-ns, `run`'s namespace side, holds the stack for the strata command that started it (unshare exec'd it: its parent)
  if (/(^|\/)strata-ns$/.test(argv[0])) return commandOf(parentOf(pid)) ?? 'strata run'
    // a session's holder: its arguments name the stack
  if (argv.length > 2 && /runtime\/holder\.js$/.test(argv[1])) {
    try {
      return `strata mount ${JSON.parse(argv[2]).stack} (its session)`
    } catch {
      return 'strata mount (a session)'
    }
  }
  if (argv.length > 1 && /(^|\/)bin\/run\.js$/.test(argv[1])) return ['strata', ...argv.slice(2)].join(' ').slice(0, 120)
  return argv.join(' ').slice(0, 120)
}

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  } catch {
    return 0
  }
}

/** "in use by pid 12 (strata run dev)" or "in use by another strata command". */
export function inUseBy(path: string): string {
  const h = lockHolders(path)
  return h.length ? `in use by ${h.join(', ')}` : 'in use by another strata command'
}

/** The store as the lock sees it (not home.ts's Home: home.ts needs fsutil, which needs these locks). */
interface Home {
  readonly root: string
  ensure(): unknown
}

export class StoreLock {
  private static held = new Map<string, StoreLock>()
  private constructor(private fd: number, private root: string) {
    StoreLock.held.set(root, this)
  }

  /**
   * Whether this process may remove objects it just stored (a failed
   * import): only when no other command holds the lock, since another
   * import may already refer to the same content. Converts our shared lock
   * to exclusive when it can; otherwise the objects are left for gc.
   */
  static mayUndo(home: Home): boolean {
    const l = StoreLock.held.get(home.root)
    return !l || sys.flock(l.fd, true, false)
  }

  /** Shared: what adds to the store (import, commit, stack create) and what reads it whole (check); waits for gc. */
  static shared(home: Home): StoreLock {
    home.ensure()
    const fd = openSync(join(home.root, 'lock'), 'a')
    sys.flock(fd, false, true)
    return new StoreLock(fd, home.root)
  }

  /** Exclusive (gc, check --repair): waits with wait, else a conflict error (exit 4) naming who holds it. */
  static exclusive(home: Home, what: string, wait = false): StoreLock {
    home.ensure()
    const file = join(home.root, 'lock')
    const fd = openSync(file, 'a')
    if (!sys.flock(fd, true, wait)) {
      closeSync(fd)
      const h = lockHolders(file)
      throw conflict(
        `the store is busy: another strata command is adding to it${h.length ? ` (${h.join(', ')})` : ''}, so ${what} can't run now`,
        `try again when it has finished, or pass --wait to wait for it`,
      )
    }
    return new StoreLock(fd, home.root)
  }

  release() {
    if (this.fd >= 0) closeSync(this.fd)
    this.fd = -1
    StoreLock.held.delete(this.root)
  }
}
