// Called by bin/run.js before oclif loads, for commands that will surely
// enter the namespace with the terminal (`run`): the store's mapping, as
// recorded, decides the namespace; a different decision later discards it.
import {existsSync, readFileSync} from 'node:fs'
import {Home} from '../store/home.js'
import {detectMapping, type Mapping} from './idmap.js'
import {prestart} from './enter.js'

export function prestartFor(argv: string[]) {
  const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv
  // a sandbox (--root) needs more namespaces than the early one has
  if (argv[0] !== 'run' || own.includes('--help') || own.includes('-h') || own.includes('--root')) return
  try {
    const home = new Home()
    const mapping: Mapping = existsSync(home.storeFile) ? JSON.parse(readFileSync(home.storeFile, 'utf8')).mapping : detectMapping()
    prestart(mapping, true)
  } catch {
    // the command itself will report whatever is wrong
  }
}
