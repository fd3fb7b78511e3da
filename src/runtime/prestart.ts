// Called by bin/run.js before oclif loads, for commands that will surely
// enter the namespace (`import`, whose namespace also loads the importers
// meanwhile): the mapping is decided as the command
// will decide it (resolveMapping: --map, STRATA_MAP, the store's record),
// and a different decision later discards the early namespace.
import {readFileSync} from 'node:fs'
import {Home} from '../store/home.js'
import {resolveMapping} from './idmap.js'
import {type Preload, prestart} from './enter.js'

// (`run` has no node inside its namespace: strata-ns is its namespace's side, setup.ts)
const EARLY: Record<string, {preload?: Preload}> = {import: {preload: 'import'}}

/** --map's value among the command's own arguments (before `--`), if given. */
function mapFlag(own: string[]): string | undefined {
  for (let i = 0; i < own.length; i++) {
    if (own[i] === '--map') return own[i + 1]
    if (own[i].startsWith('--map=')) return own[i].slice('--map='.length)
  }
  return undefined
}

export function prestartFor(argv: string[]) {
  const early = EARLY[argv[0]]
  const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv
  // a sandbox (--root) needs more namespaces than the early one has
  if (!early || own.includes('--help') || own.includes('-h') || own.includes('--root')) return
  try {
    // inside a user namespace already (strata run in strata run): the command decides whether it needs another
    if (readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/).join(' ') !== '0 0 4294967295') return
    const m = resolveMapping(new Home(), mapFlag(own), {check: false})
    prestart(m.mapping, early.preload)
  } catch {
    // the command itself will report whatever is wrong
  }
}
