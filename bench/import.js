// Issue 2's benchmarks, as the unprivileged user: import against `cp -a` +
// `sync` of the same tree under the same mapping, re-import against import,
// `strata run S -- true` against `node -e 0`, and the layer tree's footprint.
// Usage: [PAIRS=n] [PARTS=import,reimport,run,footprint[,bound]] node bench/import.js [WORKDIR]
// (bound: also time bench/lower-bound.c and a one-file import beside each cp; needs gcc and libssl-dev)
// (a tree of ≥150 MB and ≥5000 files is built in WORKDIR the first time)
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {bin, root, time, median, ns, sh, paired, fmt, quiet} from './lib.js'

const work = process.argv[2] ?? join(process.env.HOME, 'strata-bench')
const tree = join(work, 'tree')
const pairs = Number(process.env.PAIRS ?? 4)
const parts = new Set((process.env.PARTS ?? 'import,reimport,run,footprint').split(','))
mkdirSync(work, {recursive: true})
if (!existsSync(tree)) {
  mkdirSync(tree)
  for (const d of ['/usr/share/locale', '/usr/share/vim', '/usr/lib/python3.11', '/usr/share/perl']) sh(['cp', '-a', d, tree])
}
const files = Number(sh(['sh', '-c', 'find "$1" -type f | wc -l', 'sh', tree]).trim())
const mb = Number(sh(['du', '-sm', '--apparent-size', tree]).split('\t')[0])
console.log(`tree: ${tree}: ${files} files, ${mb} MB`)

const rm = (p) => sh(ns(['rm', '-rf', p]))
// every run writes into a new directory here, removed only at the end (see quiet())
const runs = join(work, `runs-${Date.now()}`)
mkdirSync(runs)
const strata = (args) => [process.execPath, bin, ...args]
const env = (home) => ({env: {...process.env, STRATA_HOME: home}})
const homeOf = (i) => join(runs, `home-${i}`)
console.log(`file creation before timing: ${quiet(runs).toFixed(0)} ms per 1000`)

if (parts.has('import') || parts.has('reimport') || parts.has('run')) {
  // 1. first import vs cp -a + sync, same mapping, both into the same filesystem; with
  // PARTS=...,bound also bench/lower-bound.c (strata's on-disk work in C) in each round
  // and strata's fixed cost: the import of a one-file tree (start-up, namespace, workers, sync, publish)
  const bound = parts.has('bound') ? join(runs, 'lower-bound') : null
  const one = join(runs, 'one-file')
  if (bound) {
    sh(['gcc', '-O2', '-o', bound, join(root, 'bench', 'lower-bound.c'), '-lcrypto', '-lpthread'])
    mkdirSync(one)
    writeFileSync(join(one, 'file'), 'x'.repeat(4096))
  }
  const lb = []
  const fixed = []
  const first = paired(
    pairs,
    (i) => {
      const dest = join(runs, `cp-${i}`)
      const t = time(ns(['sh', '-c', 'cp -a "$1" "$2" && sync -f "$2"', 'sh', tree, dest]))
      if (bound) {
        lb.push(time(ns([bound, tree, join(runs, `lb-${i}`), '2'])))
        fixed.push(time(strata(['import', one]), env(join(runs, `one-${i}`))))
      }
      return t
    },
    (i) => time(strata(['import', tree, '--name', 'bench']), env(homeOf(i))),
  )
  console.log(`import vs cp -a + sync: cp ${fmt(first.a)} s; import ${fmt(first.b)} s; ratios ${fmt(first.ratios)}; median ${first.median.toFixed(2)}×`)
  if (bound) {
    const ratios = lb.map((t, i) => t / first.a[i])
    console.log(`lower bound vs cp -a + sync: lower bound ${fmt(lb)} s; ratios ${fmt(ratios)}; median ${median(ratios).toFixed(2)}×`)
    const floor = lb.map((t, i) => (t + fixed[i]) / first.a[i])
    console.log(`fixed cost (one-file import) ${fmt(fixed)} s; lower bound + fixed cost vs cp: ratios ${fmt(floor)}; median ${median(floor).toFixed(2)}×`)
  }
}

if (parts.has('reimport')) {
  // 2. re-import of the same tree into the store that has it, vs a first import
  const again = paired(
    pairs,
    (i) => {
      const home = join(runs, `fresh-${i}`)
      return time(strata(['import', tree]), env(home))
    },
    (i) => time(strata(['import', tree]), env(homeOf(i))),
  )
  console.log(`re-import vs first import: first ${fmt(again.a)} s; again ${fmt(again.b)} s; ratios ${fmt(again.ratios)}; median ${again.median.toFixed(2)}×`)
}

if (parts.has('run')) {
  // 3. strata run S -- true vs node -e 0
  const home = homeOf(0)
  sh(strata(['stack', 'create', 'benchstack', 'bench']), env(home))
  time(strata(['run', 'benchstack', '--', 'true']), env(home)) // warm
  const run = paired(
    20,
    () => time([process.execPath, '-e', '0']),
    () => time(strata(['run', 'benchstack', '--', 'true']), env(home)),
  )
  console.log(`run -- true vs node -e 0: node median ${median(run.a).toFixed(3)} s; run median ${median(run.b).toFixed(3)} s; median ratio ${run.median.toFixed(2)}×`)
}
console.log(`file creation after timing: ${quiet(runs, {timeoutS: 0}).toFixed(0)} ms per 1000`)
rm(runs)

if (parts.has('footprint')) {
  // 4. the layer tree's own footprint, by inline limit
  const content = Number(sh(['du', '-sb', '--apparent-size', tree]).split('\t')[0])
  const treeKiB = Number(sh(['du', '-sk', tree]).split('\t')[0])
  for (const limit of [64, 1024, 4096]) {
    const h = join(work, `fp-${limit}`)
    const out = JSON.parse(sh(strata(['import', tree, '--inline-limit', String(limit), '--json']), env(h)))
    const layerKiB = Number(sh(ns(['du', '-sk', join(h, 'layers', out.layer.id, 'tree')])).split('\t')[0])
    const objKiB = Number(sh(ns(['du', '-sk', join(h, 'objects')])).split('\t')[0])
    console.log(
      `inline limit ${limit}: layer tree ${(layerKiB / 1024).toFixed(1)} MiB = ${((layerKiB * 1024 * 100) / content).toFixed(1)}% of content; ` +
        `objects ${(objKiB / 1024).toFixed(1)} MiB; store total ${(((layerKiB + objKiB) * 100) / treeKiB).toFixed(0)}% of the tree's own disk use (${(treeKiB / 1024).toFixed(0)} MiB); stubs ${out.layer.counts.stubs}, inline ${out.layer.counts.files}`,
    )
    rm(h)
  }
}
