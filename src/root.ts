// The package's root directory, from compiled (dist/src/…) or source (src/…) files alike.
import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

function findRoot(): string {
  // import.meta.dirname: node >= 20.11, and in the start-up bundles their own directory (scripts/bundle.js)
  let dir = import.meta.dirname ?? dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error('strata: cannot find the package root')
    dir = up
  }
  return dir
}

export const packageRoot = findRoot()
