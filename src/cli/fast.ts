// Commands answered without oclif (docs/design.md, "Start-up"): loading oclif
// alone costs more than node's own start, and scripts call these in loops.
// Each fast path takes only the plain form of its command and returns null for
// anything else, which oclif then parses as usual; the output is the command's
// own (src/cli/views.ts), and help is what oclif rendered at build time
// (scripts/help.js writes dist/help.json).
//
// Start-up is what these are for (bench/startup.js), so this module needs only
// node:fs and node:path: the listings, and the store's code under them, are
// another bundle (listings.ts) that bin/run.js hands in, and output goes out by
// write(2) (emit.ts).
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {emit} from './emit.js'
import {errorText, jsonText} from './report.js'
import type {Listings} from './listings.js'
import type {View} from './views.js'

type Run = () => Promise<View<unknown>> | View<unknown>

/**
 * Runs argv on a fast path and returns its exit code, or null when oclif must;
 * root: the package's directory; listings: loads listings.ts (its bundle).
 */
export async function fastPath(argv: string[], root: string, listings: () => Listings | Promise<Listings>): Promise<number | null> {
  if (process.env.STRATA_NO_FAST) return null
  const end = argv.indexOf('--')
  const own = end < 0 ? argv : argv.slice(0, end)
  if (argv.length === 1 && argv[0] === '--version') return version(root)
  if (own.length === 0 || own[0] === 'help' || own.includes('--help') || own.includes('-h')) return help(own, root)
  const json = own.filter((a) => a === '--json').length
  const words = own.filter((a) => a !== '--json')
  if (json > 1 || words.some((w) => w.startsWith('-'))) return null
  let loaded: Promise<Listings> | undefined // one load: a StrataError is known by its own bundle's class
  const load = () => (loaded ??= Promise.resolve(listings()))
  const run = listing(words, load)
  if (!run) return null
  try {
    const v = await run()
    if (json) emit(1, jsonText(v.json))
    else {
      emit(1, v.text + '\n')
      for (const w of v.warnings ?? []) emit(2, `strata: ${w}\n`)
    }
  } catch (err) {
    const e = (await load()).asStrataError(err)
    emit(json ? 1 : 2, errorText(e, json > 0))
    process.exitCode = e.exit
  }
  return Number(process.exitCode ?? 0)
}

function listing(words: string[], load: () => Promise<Listings>): Run | null {
  const [a, b, ...rest] = words
  if (a === 'stack' && (b === 'list' || b === 'ls') && !rest.length) return async () => (await load()).stackList()
  if (a === 'layer' && (b === 'list' || b === 'ls') && !rest.length) return async () => (await load()).layerList()
  if (a === 'ps' && b === undefined) return async () => (await load()).sessionList()
  if (a === 'path' && b !== undefined && !rest.length) return async () => (await load()).sessionPath(b)
  return null
}

function version(root: string): number {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  emit(1, `${pkg.oclif?.bin ?? pkg.name}/${pkg.version} ${process.platform}-${process.arch} node-${process.version}\n`)
  return 0
}

/** Help as oclif renders it, for the deepest command or topic the words name. */
function help(own: string[], root: string): number | null {
  let pages: Record<string, string>
  try {
    pages = JSON.parse(readFileSync(join(root, 'dist', 'help.json'), 'utf8'))
  } catch {
    return null
  }
  const words = (own[0] === 'help' ? own.slice(1) : own).filter((w) => !w.startsWith('-'))
  for (let n = words.length; n >= 0; n--) {
    const page = pages[words.slice(0, n).join(':')]
    if (page === undefined) continue
    if (n < words.length && own[0] === 'help') return null // `help nosuch`: oclif says it is unknown
    emit(1, page)
    return 0
  }
  return null
}
