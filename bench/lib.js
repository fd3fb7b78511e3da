// Shared by the benchmarks: timing of whole commands, paired A/B runs, medians.
import {spawnSync} from 'node:child_process'
import {closeSync, mkdirSync, openSync} from 'node:fs'
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

/**
 * The CPU time (s) a command takes, all its threads and children, as `perf
 * stat` counts it (task-clock): on a loaded machine far steadier than wall
 * time, which waits for a CPU as much as it uses one.
 */
export function cpuTime(argv, opts = {}) {
  const r = spawnSync('perf', ['stat', '-x', ',', '-e', 'task-clock', '--', ...argv], {stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', ...opts})
  if (r.error) throw new Error(`perf: ${r.error.message} (CPU=1 needs perf, from linux-perf)`)
  const line = r.stderr.split('\n').find((l) => l.includes(',task-clock'))
  if (r.status !== 0 || !line) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`)
  return Number(line.split(',')[0]) / 1000
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

/**
 * Waits until creating files is quick again; returns the last probe (ms per
 * 1000 creates). This disk's ext4 has no journal, and then the inode
 * allocator skips inodes deleted in the last half minute or so, checking
 * each (perf: recently_deleted under ext4_create): for minutes after a large
 * removal every create costs up to 10x more. So benchmarks never delete
 * between timed runs: each run writes somewhere new, and all goes at the end.
 */
export function quiet(dir, {threshold = 60, timeoutS = 300} = {}) {
  const start = Date.now()
  for (let round = 0; ; round++) {
    const d = join(dir, `probe-${round}`)
    mkdirSync(d, {recursive: true})
    const t = process.hrtime.bigint()
    for (let i = 0; i < 1000; i++) closeSync(openSync(join(d, `f${i}`), 'w'))
    const ms = Number(process.hrtime.bigint() - t) / 1e6
    if (ms <= threshold || Date.now() - start > timeoutS * 1000) return ms
    spawnSync('sleep', ['10'])
  }
}
