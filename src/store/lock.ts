// The store's lock: commands that add to the store hold it shared, gc holds
// it exclusive, so gc never removes an object an import is about to refer
// to. flock(2) is released by the kernel when a process dies: a crash never
// leaves the store locked.
import {closeSync, openSync} from 'node:fs'
import {join} from 'node:path'
import type {Home} from './home.js'
import {sys} from '../sys.js'
import {conflict} from '../errors.js'

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

  static shared(home: Home): StoreLock {
    home.ensure()
    const fd = openSync(join(home.root, 'lock'), 'a')
    sys.flock(fd, false, true)
    return new StoreLock(fd, home.root)
  }

  /** Exclusive, or a conflict error (exit 4) when another command holds it. */
  static exclusive(home: Home, what: string): StoreLock {
    home.ensure()
    const fd = openSync(join(home.root, 'lock'), 'a')
    if (!sys.flock(fd, true, false)) {
      closeSync(fd)
      throw conflict(`the store is busy: another strata command is adding to it, so ${what} can't run now`, 'try again when it has finished')
    }
    return new StoreLock(fd, home.root)
  }

  release() {
    if (this.fd >= 0) closeSync(this.fd)
    this.fd = -1
    StoreLock.held.delete(this.root)
  }
}
