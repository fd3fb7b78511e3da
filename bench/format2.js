// Issue 13's benchmarks (store format 2), side by side in one run, on ext4 with
// 256-byte inodes: strata's first import against `cp -a` + sync and against
// `mkcomposefs --digest-store` + sync; re-import against first import; a cold
// and a warm walk and read of the tree through strata's kernel backend (format
// 2, and a layer in the digest form, format 1's stubs) against an overlay over
// a plain copy and (when installed) a composefs mount; layer trees against objects.
//
// Run as root: `node bench/format2.js`. strata, cp and the overlay run as the
// unprivileged user BENCH_USER (strata-test), in user namespaces, as strata's
// users would; root only makes and mounts the ext4 image, drops the page cache
// (sync; echo 3 > /proc/sys/vm/drop_caches) before each cold run, mounts
// composefs (mount.composefs needs root) and does the timed walks and reads
// (root reads every view alike, through /proc/PID/root of each holder).
// Env: BENCH_DIR (mount point, default /mnt/strata-f2-bench), BENCH_IMG (the
// image, 4 GiB, made when missing), ROUNDS (3), COMPOSEFS (dir holding
// mkcomposefs and mount.composefs, default: PATH), TREE_SOURCES (dirs copied
// into the tree, comma-separated).
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {loadavg} from 'node:os'
import {bin, median} from './lib.js'

if (process.getuid() !== 0) throw new Error('run as root: it drops caches and mounts the ext4 image (strata itself runs as BENCH_USER)')
const user = process.env.BENCH_USER ?? 'strata-test'
const dir = process.env.BENCH_DIR ?? '/mnt/strata-f2-bench'
const img = process.env.BENCH_IMG ?? '/var/tmp/strata-f2-bench.img'
const rounds = Number(process.env.ROUNDS ?? 3)
const cfsDir = process.env.COMPOSEFS
const sources = (process.env.TREE_SOURCES ?? '/usr/share/locale,/usr/share/vim,/usr/lib/python3.11,/usr/share/perl').split(',')

function sh(argv, opts = {}) {
  const r = spawnSync(argv[0], argv.slice(1), {encoding: 'utf8', maxBuffer: 1 << 28, ...opts})
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`)
  return r.stdout
}
const asUser = (argv) => ['runuser', '-u', user, '--', 'env', `HOME=/home/${user}`, `PATH=${process.env.PATH}`, ...argv]
const ns = (argv) => ['unshare', '--user', '--map-root-user', '--map-auto', '--mount', '--', ...argv]
function time(argv, opts) {
  const t = process.hrtime.bigint()
  sh(argv, opts)
  return Number(process.hrtime.bigint() - t) / 1e9
}
const dropCaches = () => sh(['sh', '-c', 'sync && echo 3 > /proc/sys/vm/drop_caches'])
const strata = (home, args) => asUser(['env', `STRATA_HOME=${home}`, process.execPath, bin, ...args])
const which = (name) => (cfsDir ? (existsSync(join(cfsDir, name)) ? join(cfsDir, name) : null) : spawnSync('which', [name], {encoding: 'utf8'}).stdout.trim() || null)
const kib = (p) => Number(sh(['du', '-sk', p]).split('\t')[0])
const fmt = (xs) => xs.map((x) => x.toFixed(3)).join(' ')

// the filesystem: ext4, 4 KiB blocks, 256-byte inodes (mkfs's defaults for a disk this size)
mkdirSync(dir, {recursive: true})
if (spawnSync('mountpoint', ['-q', dir]).status !== 0) {
  if (!existsSync(img)) {
    sh(['truncate', '-s', '4G', img])
    sh(['mkfs.ext4', '-q', '-F', '-b', '4096', '-I', '256', img])
  }
  sh(['mount', '-o', 'loop', img, dir])
}
sh(['chown', `${user}:`, dir])
console.log(`filesystem: ${sh(['findmnt', '-no', 'FSTYPE,SOURCE', dir]).trim()}, inode size ${/Inode size:\s+(\d+)/.exec(sh(['tune2fs', '-l', sh(['findmnt', '-no', 'SOURCE', dir]).trim()]))[1]}`)

const run = join(dir, `run-${Date.now()}`)
sh(asUser(['mkdir', run]))
const tree = join(dir, 'tree')
if (!existsSync(tree)) {
  sh(asUser(['mkdir', tree]))
  for (const s of sources) sh(asUser(['cp', '-a', s, tree]))
}
const files = Number(sh(['sh', '-c', 'find "$1" -type f | wc -l', 'sh', tree]).trim())
const entries = Number(sh(['sh', '-c', 'find "$1" | wc -l', 'sh', tree]).trim())
const mb = Number(sh(['du', '-sm', '--apparent-size', tree]).split('\t')[0])
console.log(`tree: ${entries} entries, ${files} files, ${mb} MB (${sources.join(' ')}); ${rounds} rounds; kernel ${sh(['uname', '-r']).trim()}`)

const parts = new Set((process.env.PARTS ?? 'import,read').split(','))
const mkcfs = which('mkcomposefs')
const mountcfs = which('mount.composefs')
const results = {}
const add = (k, v) => (results[k] ??= []).push(v)

// 1. import: cp -a + sync, strata import, mkcomposefs --digest-store + sync; each into a new place, cold cache
// (PARTS=read: made once, untimed, for the read path alone)
for (let i = 0; i < (parts.has('import') ? rounds : 1); i++) {
  dropCaches()
  add('cp', time(asUser(ns(['sh', '-c', 'cp -a "$1" "$2" && sync -f "$2"', 'sh', tree, join(run, `cp-${i}`)]))))
  dropCaches()
  add('import', time(strata(join(run, `home-${i}`), ['import', tree, '--name', 'bench'])))
  dropCaches()
  add('import-digest', time(strata(join(run, `homed-${i}`), ['import', tree, '--name', 'bench', '--stubs', 'digest'])))
  if (mkcfs) {
    dropCaches()
    const objs = join(run, `cfs-objects-${i}`)
    add('mkcomposefs', time(asUser(['sh', '-c', '"$1" --digest-store="$2" "$3" "$4" && sync -f "$2"', 'sh', mkcfs, objs, tree, join(run, `cfs-${i}.img`)])))
  }
  // 2. re-import: the same tree into the store that has it
  dropCaches()
  add('reimport', time(strata(join(run, `home-${i}`), ['import', tree, '--name', 'bench'])))
  const n = results.cp.length - 1
  console.log(`round ${i + 1} (load ${loadavg().map((l) => l.toFixed(2)).join(' ')}): cp ${results.cp[n].toFixed(2)} s, import ${results.import[n].toFixed(2)} s (${(results.import[n] / results.cp[n]).toFixed(2)}x), digest form ${results['import-digest'][n].toFixed(2)} s${mkcfs ? `, mkcomposefs ${results.mkcomposefs[n].toFixed(2)} s` : ''}, re-import ${results.reimport[n].toFixed(2)} s`)
  // round 0's copies stay for the read path; later rounds' go, so that the image holds any number of rounds
  if (i > 0) sh(asUser(ns(['rm', '-rf', join(run, `cp-${i}`), join(run, `home-${i}`), join(run, `homed-${i}`), join(run, `cfs-objects-${i}`), join(run, `cfs-${i}.img`)])))
}
const ratio = (a, b) => results[a].map((x, i) => x / results[b][i])
if (parts.has('import')) {
console.log(`cp -a + sync: ${fmt(results.cp)} s`)
console.log(`first import: ${fmt(results.import)} s; vs cp: ${fmt(ratio('import', 'cp'))}; median ${median(ratio('import', 'cp')).toFixed(2)}x (target <= 1.5x)`)
console.log(`first import, digest form: ${fmt(results['import-digest'])} s; vs cp: median ${median(ratio('import-digest', 'cp')).toFixed(2)}x`)
if (mkcfs) console.log(`mkcomposefs --digest-store + sync: ${fmt(results.mkcomposefs)} s; import vs it: ${fmt(ratio('import', 'mkcomposefs'))}; median ${median(ratio('import', 'mkcomposefs')).toFixed(2)}x (target <= 0.8x)`)
console.log(`re-import: ${fmt(results.reimport)} s; vs first import: ${fmt(ratio('reimport', 'import'))}; median ${median(ratio('reimport', 'import')).toFixed(2)}x (target <= 0.35x)`)
}

// 3. footprint: layer trees against the objects
for (const [label, home] of [['format 2', join(run, 'home-0')], ['digest form', join(run, 'homed-0')]]) {
  const layers = join(home, 'layers')
  const id = sh(['ls', layers]).trim().split('\n')[0]
  const t = kib(join(layers, id, 'tree'))
  const o = kib(join(home, 'objects'))
  const index = existsSync(join(layers, id, 'digests')) ? statSync(join(layers, id, 'digests')).size / 1024 : 0
  console.log(`${label}: layer tree ${(t / 1024).toFixed(1)} MiB = ${((100 * t) / o).toFixed(1)}% of the objects' ${(o / 1024).toFixed(1)} MiB (target <= 3%); its digest index ${index.toFixed(0)} KiB more`)
}

// 4. the read path. Holders keep each view mounted; walks and reads go through /proc/PID/root.
const views = []
function holder(argv, mountedPath) {
  const p = spawn(argv[0], argv.slice(1), {stdio: ['ignore', 'pipe', 'inherit']})
  // the holder prints its own pid once mounted: the namespace's process, whose root shows the mount
  return new Promise((resolve, reject) => {
    p.stdout.once('data', (d) => resolve({pid: Number(d), proc: p, path: `/proc/${Number(d)}/root${mountedPath}`}))
    p.once('exit', (c) => reject(new Error(`holder ${argv.join(' ')} exited ${c}`)))
  })
}
for (const [label, home] of [['strata (format 2)', join(run, 'home-0')], ['strata (digest form)', join(run, 'homed-0')]]) {
  sh(strata(home, ['stack', 'create', 'b', 'bench', '--backend', 'kernel']))
  sh(strata(home, ['mount', 'b']))
  const path = JSON.parse(sh(strata(home, ['path', 'b', '--json']))).path
  if (Number(sh(['sh', '-c', 'find "$1" | wc -l', 'sh', path]).trim()) !== entries) throw new Error(`${label} at ${path} does not show the tree`)
  views.push({label, path, stop: () => sh(strata(home, ['umount', 'b']))})
}
{
  // an overlay over a plain copy (the first cp), as the user in a namespace
  const o = join(run, 'ovl')
  sh(asUser(['mkdir', '-p', join(o, 'u'), join(o, 'w'), join(o, 'm')]))
  const h = await holder(asUser(ns(['sh', '-c', 'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3,userxattr" "$4" && echo $$ && exec sleep 1000000', 'sh', join(run, 'cp-0'), join(o, 'u'), join(o, 'w'), join(o, 'm')])), join(o, 'm'))
  if (Number(sh(['sh', '-c', 'find "$1" | wc -l', 'sh', h.path]).trim()) !== entries) throw new Error(`the overlay at ${h.path} does not show the tree`)
  views.push({label: 'overlay over a plain copy', path: h.path, stop: () => process.kill(h.pid)})
}
if (mkcfs && mountcfs) {
  const m = join(run, 'cfs-mnt')
  mkdirSync(m)
  sh([mountcfs, '-o', `basedir=${join(run, 'cfs-objects-0')}`, join(run, 'cfs-0.img'), m])
  views.push({label: 'composefs', path: m, stop: () => sh(['umount', m])})
}
const walk = (p) => time(['sh', '-c', 'find "$1" -printf "%s %m\\n" > /dev/null', 'sh', p])
const read = (p) => time(['sh', '-c', 'find "$1" -type f -print0 | xargs -0 cat > /dev/null', 'sh', p])
const t = {}
for (let i = 0; i < rounds; i++) {
  console.log(`read-path round ${i + 1}: load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  for (const v of views) {
    for (const [k, f] of [['walk', walk], ['read', read]]) {
      dropCaches()
      ;(t[`${v.label} cold ${k}`] ??= []).push(f(v.path))
      ;(t[`${v.label} warm ${k}`] ??= []).push(f(v.path))
    }
  }
}
const base = 'overlay over a plain copy'
for (const temp of ['cold', 'warm'])
  for (const k of ['walk', 'read'])
    for (const v of views) {
      const xs = t[`${v.label} ${temp} ${k}`]
      const ref = median(t[`${base} ${temp} ${k}`])
      // per round too: a round runs every view back to back, so its ratios share the machine's load
      const perRound = xs.map((x, i) => x / t[`${base} ${temp} ${k}`][i])
      console.log(`${temp} ${k}, ${v.label}: ${fmt(xs)} s; median ${(median(xs) * 1000).toFixed(0)} ms = ${(median(xs) / ref).toFixed(2)}x the overlay over a plain copy; per round ${fmt(perRound)}, median ${median(perRound).toFixed(2)}x${v.label.startsWith('strata (format 2)') ? ' (target <= 1.1x)' : ''}`)
    }
for (const v of views) v.stop()
// everything this run wrote goes (its files have the namespace's owners); the tree stays for the next run
if (process.env.KEEP) console.log(`kept ${run} (remove with: unshare -Urm --map-auto rm -rf ${run}, as ${user})`)
else sh(asUser(ns(['rm', '-rf', run])))
