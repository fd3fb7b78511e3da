// Shared by the benchmarks: timing of whole commands, paired A/B runs, medians.
import {spawnSync} from 'node:child_process'
import {join, dirname} from 'node:path'
import {fileURLToPath} from 'node:url'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..')
export const bin = join(root, 'bin', 'run.js')

export function time(argv, opts = {}) {
  const t = process.hrtime.bigint()
  const r = spawnSync(argv[0], argv.slice(1), {stdio: ['ignore', 'ignore', 'pipe'], ...opts})
  const s = Number(process.hrtime.bigint() - t) / 1e9
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`)
  return s
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

export const ns = (argv) => ['unshare', '--user', '--map-root-user', '--map-auto', '--mount', '--', ...argv]

export function sh(argv, opts = {}) {
  const r = spawnSync(argv[0], argv.slice(1), {encoding: 'utf8', ...opts})
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`)
  return r.stdout
}

/** Alternates A and B `pairs` times; returns each side's times and the per-pair ratios B/A. */
export function paired(pairs, a, b) {
  const as = []
  const bs = []
  const ratios = []
  for (let i = 0; i < pairs; i++) {
    const ta = a(i)
    const tb = b(i)
    as.push(ta)
    bs.push(tb)
    ratios.push(tb / ta)
  }
  return {a: as, b: bs, ratios, median: median(ratios)}
}

export const fmt = (xs) => xs.map((x) => x.toFixed(3)).join(' ')
