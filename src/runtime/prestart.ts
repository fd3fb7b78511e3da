// Called by bin/run.js before oclif loads, for commands that will surely
// enter the namespace (`run`, with the terminal; `import`, whose namespace
// also loads the importers meanwhile): the store's mapping, as recorded,
// decides the namespace; a different decision later discards it.
import {existsSync, readFileSync} from 'node:fs'
import {Home} from '../store/home.js'
import {detectMapping, type Mapping} from './idmap.js'
import {type Preload, prestart} from './enter.js'

const EARLY: Record<string, {stdin: boolean; preload?: Preload}> = {run: {stdin: true}, import: {stdin: false, preload: 'import'}}

export function prestartFor(argv: string[]) {
  const early = EARLY[argv[0]]
  const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv
  // a sandbox (--root) needs more namespaces than the early one has
  if (!early || own.includes('--help') || own.includes('-h') || own.includes('--root')) return
  try {
    // inside a user namespace already (strata run in strata run): the command decides whether it needs another
    if (readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/).join(' ') !== '0 0 4294967295') return
    const home = new Home()
    const mapping: Mapping = existsSync(home.storeFile) ? JSON.parse(readFileSync(home.storeFile, 'utf8')).mapping : detectMapping()
    prestart(mapping, early.stdin, early.preload)
  } catch {
    // the command itself will report whatever is wrong
  }
}
