// Benchmarks of sessions, side by side (A/B pairs, medians of the per-pair ratios):
//  1. `strata exec STACK -- true` on a mounted stack vs `node -e 0` (target ≤ 3×);
//  2. `strata mount` of a 10-layer, 100k-file stack vs a 1-layer, 1k-file one,
//     caches warm (composed trees built) (target ≤ 2×: lazy lookup, no cost per file).
// Run as a user with a subordinate id range, after a build:
//   node bench/sessions.js [WORKDIR]    (appends to bench/RESULTS.md)
import {spawnSync} from 'node:child_process'
import {appendFileSync, existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {join, dirname} from 'node:path'
import {fileURLToPath} from 'node:url'
import {cpus, release} from 'node:os'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = join(root, 'bin', 'run.js')
const work = process.argv[2] ?? join(root, 'bench', 'work', 'sessions')
const PAIRS = Number(process.env.PAIRS ?? 21)
const env = {...process.env, STRATA_HOME: join(work, 'home')}

function sh(argv) {
  const r = spawnSync(argv[0], argv.slice(1), {env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`)
  return r.stdout
}
const strata = (...a) => sh([process.execPath, bin, ...a])
function time(argv) {
  const t = process.hrtime.bigint()
  sh(argv)
  return Number(process.hrtime.bigint() - t) / 1e6
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
function paired(a, b) {
  const as = [], bs = [], ratios = []
  for (let i = 0; i < PAIRS; i++) {
    const ta = a(), tb = b()
    as.push(ta), bs.push(tb), ratios.push(tb / ta)
  }
  return {a: median(as), b: median(bs), ratio: median(ratios), ratios}
}

/** `layers` trees of `files` files each (200 bytes: stubs, data in the object store), spread over dirs of 100. */
function makeLayers(name, layers, files) {
  const ids = []
  for (let l = 0; l < layers; l++) {
    const dir = join(work, 'src', `${name}-${l}`)
    if (!existsSync(join(dir, '.done'))) {
      for (let f = 0; f < files; f++) {
        const d = join(dir, `l${l}`, `d${Math.floor(f / 100)}`) // distinct paths: every layer adds its own files
        if (f % 100 === 0) mkdirSync(d, {recursive: true})
        writeFileSync(join(d, `f${f}`), `${name} layer ${l} file ${f} `.padEnd(200, 'x'))
      }
      writeFileSync(join(dir, '.done'), '')
    }
    ids.push(`${name}-${l}`)
    if (!existsSync(join(env.STRATA_HOME, 'stacks', name))) strata('import', dir, '--name', `${name}-${l}`)
  }
  if (!existsSync(join(env.STRATA_HOME, 'stacks', name))) strata('stack', 'create', name, ...ids.reverse())
}

console.error('preparing stacks (first run imports 101k files)...')
makeLayers('small', 1, 1000)
makeLayers('big', 10, 10000)
for (const s of ['small', 'big']) {
  try { strata('umount', s) } catch {}
  strata('mount', s) // warm: composed tree built, then kept in the cache
  strata('umount', s)
}

const results = []
strata('mount', 'small')
try {
  const r = paired(() => time([process.execPath, '-e', '0']), () => time([process.execPath, bin, 'exec', 'small', '--', 'true']))
  results.push(`\`strata exec STACK -- true\` on a mounted stack vs \`node -e 0\`, ${PAIRS} A/B pairs: medians ${r.a.toFixed(1)} ms vs ${r.b.toFixed(1)} ms; median ratio **${r.ratio.toFixed(2)}×** (target ≤ 3×).`)
} finally {
  strata('umount', 'small')
}
const mountOf = (s) => () => {
  const t = time([process.execPath, bin, 'mount', s])
  strata('umount', s)
  return t
}
const m = paired(mountOf('small'), mountOf('big'))
results.push(`\`strata mount\` of a 10-layer, 100k-file stack vs a 1-layer, 1k-file one (composed caches warm), ${PAIRS} A/B pairs: medians ${m.a.toFixed(1)} ms vs ${m.b.toFixed(1)} ms; median ratio **${m.ratio.toFixed(2)}×** (target ≤ 2×).`)

const text = `\n## sessions.js — ${new Date().toISOString().slice(0, 16)}Z, ${release()}, node ${process.version}, ${cpus().length} cpus\n${results.map((r) => `- ${r}`).join('\n')}\n`
process.stdout.write(text)
appendFileSync(join(root, 'bench', 'RESULTS.md'), text)
