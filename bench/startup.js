// Start-up of strata's commands against `node -e 0`, side by side: each
// command and the baseline alternate PAIRS times; the figure is the median of
// the per-pair ratios (this machine is shared and noisy: only ratios taken in
// the same moment mean anything). Targets (issue "Start-up and install"):
// plain commands (path too) <= 1.5x, `__complete` <= 1.2x, `run S -- true` <= 2x,
// `run --root S -- true` <= 2.2x.
// Run as a user with a subordinate id range, after `npm run build`:
//   node bench/startup.js [WORKDIR]      (PAIRS=15 by default; prints a table)
//   ONLY=REGEX: only the commands whose name matches, e.g. ONLY='^(?!run)' for all but run
//   CPU=1: CPU time (perf stat's task-clock) instead of wall time, for a loaded machine
import {mkdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {tmpdir} from 'node:os'
import {bin, cpuTime, fmt, median, paired, sh, time} from './lib.js'
import {makeRootfs} from '../test/fixtures/rootfs.js'

const work = process.argv[2] ?? join(tmpdir(), `strata-bench-startup-${process.pid}`)
const PAIRS = Number(process.env.PAIRS ?? 15)
rmSync(work, {recursive: true, force: true})
mkdirSync(work, {recursive: true})
const env = {...process.env, STRATA_HOME: join(work, 'home')}
const strata = (...a) => [process.execPath, bin, ...a]
sh(strata('import', makeRootfs(join(work, 'rootfs')), '--name', 'base', '--stack', 'S', '--json'), {env})

const cases = [
  ['--version', strata('--version'), 1.5],
  ['--help', strata('--help'), 1.5],
  ['stack list --json', strata('stack', 'list', '--json'), 1.5],
  ['layer list', strata('layer', 'list'), 1.5],
  ['ps', strata('ps'), 1.5],
  ['__complete stack rm ""', strata('__complete', 'stack', 'rm', ''), 1.2],
  ['run S -- true', strata('run', 'S', '--', 'true'), 2],
  ['run --root S -- true', strata('run', '--root', 'S', '--', 'true'), 2.2],
  // with S mounted (last: `run` wants it unmounted)
  ['path S', strata('path', 'S'), 1.5, {mounted: true}],
]
const baseline = [process.execPath, '-e', '0']
// the fastest run of each, too: on a loaded machine scheduling swamps the medians, and the
// fastest runs are the nearest to what each costs by itself
console.log(`| command | node -e 0 (median s) | strata (median s) | median ratio | target | fastest: node, strata, ratio | per-pair ratios |`)
console.log(`| --- | --- | --- | --- | --- | --- | --- |`)
const only = process.env.ONLY ? new RegExp(process.env.ONLY) : null
for (const [name, argv, target, {mounted = false} = {}] of cases) {
  if (only && !only.test(name)) continue
  if (mounted) sh(strata('mount', 'S'), {env})
  time(argv, {env}) // warm the page cache, any per-boot probe and the code cache (bin/run.js)
  const measure = process.env.CPU ? cpuTime : time
  const r = paired(PAIRS, () => measure(baseline, {env}), () => measure(argv, {env}))
  const [fa, fb] = [Math.min(...r.a), Math.min(...r.b)]
  console.log(`| \`${name}\` | ${median(r.a).toFixed(3)} | ${median(r.b).toFixed(3)} | **${r.median.toFixed(2)}×** | ≤ ${target}× | ${fa.toFixed(3)} ${fb.toFixed(3)} ${(fb / fa).toFixed(2)}× | ${fmt(r.ratios)} |`)
  if (mounted) sh(strata('umount', 'S'), {env})
}
rmSync(work, {recursive: true, force: true})
