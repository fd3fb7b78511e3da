// pull and push against a local docker-registry, side by side with skopeo
// (issue 14). Run as the unprivileged user, with nothing else loading the
// machine:   PAIRS=5 node bench/registry.js WORKDIR [PARTS=pull,push,rss]
// - pull: `strata pull` vs `skopeo copy docker://… oci:DIR` + `strata import DIR`
//   (each into a fresh store), of a Debian-sized image built from a tree of /usr
// - push: `strata push` vs `skopeo copy oci:DIR docker://…` of the same image
//   (the layout uncompressed, so that skopeo compresses as strata must; and gzip,
//   where skopeo only uploads), each into a fresh registry
// - rss: peak RSS of `strata pull` of a 1 GB image (GNU time %M: the largest
//   process of the command, here the namespace's, which does the work)
import {spawnSync} from 'node:child_process'
import {mkdirSync, writeFileSync, openSync, writeSync, closeSync} from 'node:fs'
import {randomBytes} from 'node:crypto'
import {join} from 'node:path'
import {bin, fmt, median, paired, time} from './lib.js'
import {startRegistry} from '../test/fixtures/registry.js'

const work = process.argv[2]
if (!work) throw new Error('usage: node bench/registry.js WORKDIR')
const pairs = Number(process.env.PAIRS ?? 5)
const parts = new Set((process.env.PARTS ?? 'pull,push,rss').split(','))
mkdirSync(work, {recursive: true})
let n = 0
const fresh = (what) => join(work, `${what}-${process.pid}-${n++}`)
const tStrata = (home, args) => time([process.execPath, bin, ...args], {env: {...process.env, STRATA_HOME: home}})
const must = (argv, env) => {
  const r = spawnSync(argv[0], argv.slice(1), {encoding: 'utf8', env: env ?? process.env, maxBuffer: 1 << 26})
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`)
  return r.stdout
}

/** An image from a tree: import it, export the stack as an OCI layout (gzip and plain), push it to reg. */
async function imageOf(tree, reg, repo) {
  const home = fresh('home-src')
  must([process.execPath, bin, 'import', tree, '--stack', 'src'], {...process.env, STRATA_HOME: home})
  const gz = fresh('layout-gz')
  const plain = fresh('layout-plain')
  must([process.execPath, bin, 'stack', 'export', 'src', '--oci', `${gz}:v1`, '--gzip'], {...process.env, STRATA_HOME: home})
  must([process.execPath, bin, 'stack', 'export', 'src', '--oci', `${plain}:v1`], {...process.env, STRATA_HOME: home})
  must(['skopeo', 'copy', '--dest-tls-verify=false', `oci:${gz}:v1`, `docker://${reg.host}/${repo}:v1`])
  return {home, gz, plain}
}

const debianTree = () => {
  // about a Debian image's size: ~240 MB in many small files (python3.11, perl, locale)
  const tree = fresh('tree')
  mkdirSync(tree)
  for (const d of ['/usr/lib/python3.11', '/usr/share/perl', '/usr/share/locale']) must(['cp', '-a', '--no-preserve=ownership', d, tree])
  return tree
}

const reg = await startRegistry()
const results = {}
try {
  if (parts.has('pull') || parts.has('push')) {
    const tree = debianTree()
    const size = must(['du', '-sb', tree]).split('\t')[0]
    const files = must(['sh', '-c', `find "$1" -type f | wc -l`, 'sh', tree]).trim()
    const img = await imageOf(tree, reg, 'bench/debian')
    console.log(`image: ${files} files, ${(size / 2 ** 20).toFixed(0)} MiB`)
    if (parts.has('pull')) {
      const ref = `${reg.host}/bench/debian:v1`
      // the pipeline's two steps timed apart: the import alone is what a pull can't go below
      // (the same decompression, hashing, parsing and object writes), so pull/import shows
      // the pull's own overhead, and import/(skopeo + import) the floor of the target's ratio
      const sk = []
      const imp = []
      const r = paired(
        pairs,
        () => tStrata(fresh('home-pull'), ['pull', ref, '--tls-verify=false']),
        () => {
          const dir = fresh('copy')
          const home = fresh('home-imp')
          sk.push(time(['skopeo', 'copy', '--src-tls-verify=false', `docker://${ref}`, `oci:${dir}:v1`]))
          imp.push(tStrata(home, ['import', `${dir}:v1`]))
          return sk.at(-1) + imp.at(-1)
        },
      )
      results.pull = r
      console.log(`pull: strata ${fmt(r.a)} s; skopeo copy ${fmt(sk)} s + import ${fmt(imp)} s = ${fmt(r.b)} s`)
      console.log(`pull/pipeline per pair ${fmt(r.a.map((a, i) => a / r.b[i]))}; median ${median(r.a.map((a, i) => a / r.b[i])).toFixed(2)}x`)
      console.log(`pull/import alone per pair ${fmt(r.a.map((a, i) => a / imp[i]))}; median ${median(r.a.map((a, i) => a / imp[i])).toFixed(2)}x`)
      console.log(`floor of pull/pipeline (import/(skopeo + import)) per pair ${fmt(imp.map((x, i) => x / r.b[i]))}; median ${median(imp.map((x, i) => x / r.b[i])).toFixed(2)}x`)
    }
    if (parts.has('push')) {
      const rs = []
      const a = []
      const b = []
      const c = []
      for (let i = 0; i < pairs; i++) {
        const r1 = await startRegistry()
        const r2 = await startRegistry()
        const r3 = await startRegistry()
        try {
          a.push(tStrata(img.home, ['push', 'src', `${r1.host}/bench/push:v1`, '--tls-verify=false']))
          b.push(time(['skopeo', 'copy', '--dest-tls-verify=false', `oci:${img.plain}:v1`, `docker://${r2.host}/bench/push:v1`]))
          c.push(time(['skopeo', 'copy', '--dest-tls-verify=false', `oci:${img.gz}:v1`, `docker://${r3.host}/bench/push:v1`]))
        } finally {
          r1.stop()
          r2.stop()
          r3.stop()
        }
        rs.push(a[i] / b[i])
      }
      results.push = {a, b, c}
      console.log(`push: strata ${fmt(a)} s; skopeo copy (plain layout, compresses) ${fmt(b)} s; skopeo copy (gzip layout, uploads only) ${fmt(c)} s`)
      console.log(`push/skopeo(plain) per pair ${fmt(rs)}; median ${median(rs).toFixed(2)}x; push/skopeo(gzip) median ${median(a.map((x, i) => x / c[i])).toFixed(2)}x`)
    }
  }
  if (parts.has('rss')) {
    // 1 GiB in 64 files of 16 MiB (incompressible), one layer
    const tree = fresh('tree-1g')
    mkdirSync(tree)
    for (let i = 0; i < 64; i++) {
      const fd = openSync(join(tree, `f${i}`), 'w')
      for (let j = 0; j < 16; j++) writeSync(fd, randomBytes(1 << 20))
      closeSync(fd)
    }
    await imageOf(tree, reg, 'bench/big')
    const home = fresh('home-rss')
    const r = spawnSync('/usr/bin/time', ['-f', '%M %e', process.execPath, bin, 'pull', `${reg.host}/bench/big:v1`, '--tls-verify=false'], {encoding: 'utf8', env: {...process.env, STRATA_HOME: home}})
    if (r.status !== 0) throw new Error(r.stderr)
    const [kb, secs] = r.stderr.trim().split('\n').pop().split(' ')
    console.log(`rss: pull of a 1 GiB image: peak RSS ${(kb / 1024).toFixed(0)} MiB (largest process), ${secs} s`)
  }
} finally {
  reg.stop()
}
