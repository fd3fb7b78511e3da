// Where a store lives and how it is laid out (docs/design.md, On-disk layout).
import {isWithin, makeDirs} from './fsutil.js'
import {homedir} from 'node:os'
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

export function runtimeDir(): string {
  const base = process.env.XDG_RUNTIME_DIR || `/tmp/strata-${process.getuid?.() ?? 0}`
  return join(base, 'strata')
}
