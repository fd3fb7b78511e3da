// `npm run prebuilds` (not "prebuild": npm would run that before every build): builds every target of binding.gyp (the Node-API addon
// and any executables) for each Linux platform strata ships prebuilt, into
// prebuilds/<platform>-<arch>-<libc>/, and records the hash of the sources in
// prebuilds/manifest.json (scripts/native.cjs uses a prebuild only while the
// hash matches). Node-API is ABI-stable, so one build per platform serves
// every node >= 20. Cross compilers: gcc-aarch64-linux-gnu and musl-tools
// from Debian; arm64 musl needs musl-dev:arm64 (multiarch) or zig (ZIG=/path/to/zig), and
// is skipped, saying so, without it. `--only TAG` builds one platform.
import {execFileSync, spawnSync} from 'node:child_process'
import {copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'

const require = createRequire(import.meta.url)
const native = require('./native.cjs')
const root = native.root
const gyp = JSON.parse(readFileSync(join(root, 'binding.gyp'), 'utf8'))
const nodeInclude = process.env.STRATA_NODE_HEADERS || join(dirname(process.execPath), '..', 'include', 'node')
if (!existsSync(join(nodeInclude, 'node_api.h'))) {
  console.error(`prebuild: no node headers at ${nodeInclude} (set STRATA_NODE_HEADERS)`)
  process.exit(5)
}

const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], {encoding: 'utf8'}).stdout.trim() || null
const zig = process.env.ZIG || which('zig')
// Debian's musl for arm64 (dpkg --add-architecture arm64; apt-get install musl-dev:arm64) with the gnu cross compiler
const armMuslSpecs = '/usr/lib/aarch64-linux-musl/musl-gcc.specs'
const platforms = [
  {tag: 'linux-x64-glibc', cc: ['gcc'], arch: 'linux-x86_64', flags: ['-m64']},
  {tag: 'linux-arm64-glibc', cc: ['aarch64-linux-gnu-gcc'], arch: 'linux-aarch64', flags: []},
  {tag: 'linux-x64-musl', cc: ['musl-gcc'], arch: 'linux-x86_64', flags: ['-m64'], kernel: {linux: '/usr/include/linux', asm: '/usr/include/x86_64-linux-gnu/asm', 'asm-generic': '/usr/include/asm-generic'}},
  {tag: 'linux-arm64-musl', cc: existsSync(armMuslSpecs) ? ['aarch64-linux-gnu-gcc', '-specs', armMuslSpecs] : zig ? [zig, 'cc', '-target', 'aarch64-linux-musl'] : null, arch: 'linux-aarch64', flags: [], missing: 'gcc-aarch64-linux-gnu with musl-dev:arm64, or zig (ZIG=/path/to/zig)',
    kernel: {linux: '/usr/aarch64-linux-gnu/include/linux', asm: '/usr/aarch64-linux-gnu/include/asm', 'asm-generic': '/usr/aarch64-linux-gnu/include/asm-generic'}},
]
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : null

// what node-gyp passes for an addon (see its generated Makefile), minus what only C++ needs
const defines = ['NODE_GYP_MODULE_NAME', 'USING_UV_SHARED=1', 'USING_V8_SHARED=1', '_FILE_OFFSET_BITS=64', '_LARGEFILE_SOURCE',
  '__STDC_FORMAT_MACROS', 'OPENSSL_NO_PINSHARED', 'OPENSSL_THREADS', 'BUILDING_NODE_EXTENSION']

const manifest = native.readManifest() ?? {}
const sources = native.sourcesHash()
// with --only, the other platforms' builds are kept only while they were made from these sources
const built = manifest.sources === sources ? {...(manifest.platforms ?? {})} : {}
const skipped = {}

for (const p of platforms) {
  if (only && p.tag !== only) continue
  if (!p.cc || !which(p.cc[0])) {
    skipped[p.tag] = `no ${p.missing ?? p.cc[0]}`
    console.error(`prebuild: ${p.tag} skipped: no ${p.missing ?? p.cc[0]}`)
    delete built[p.tag]
    continue
  }
  const out = join(root, 'prebuilds', p.tag)
  const work = mkdtempSync(join(tmpdir(), 'strata-prebuild-'))
  const files = []
  try {
    // musl's include path leaves the kernel's headers out (musl-gcc's specs): give it the target's linux/ and asm/ alone
    const kernelInc = []
    if (p.kernel && p.cc[0] !== zig) {
      mkdirSync(join(work, 'kernel'))
      for (const [name, dir] of Object.entries(p.kernel)) symlinkSync(dir, join(work, 'kernel', name))
      kernelInc.push('-isystem', join(work, 'kernel'))
    }
    for (const t of gyp.targets) {
      const exe = t.type === 'executable'
      const name = exe ? t.target_name : t.target_name + '.node'
      const defs = (exe ? [] : defines).map((d) => (d === 'NODE_GYP_MODULE_NAME' ? `-D${d}=${t.target_name}` : `-D${d}`))
        .concat((t.defines ?? []).map((d) => `-D${d}`))
      const incs = (exe ? [] : [nodeInclude, join(nodeInclude, 'openssl', 'archs', p.arch, 'no-asm', 'include')]).concat((t.include_dirs ?? []).map((d) => join(root, d)))
      const args = [...p.cc.slice(1), ...p.flags, ...kernelInc, '-O2', '-fPIC', '-pthread', '-fno-omit-frame-pointer', '-Werror=implicit-function-declaration', ...(t.cflags ?? []), ...defs,
        ...incs.map((d) => `-I${d}`), ...t.sources.map((s) => join(root, s)),
        ...(exe ? [] : ['-shared', ...(p.cc[0] === zig ? [] : ['-Wl,--unresolved-symbols=ignore-all'])]), ...(t.libraries ?? []), '-o', join(work, name)]
      process.stderr.write(`prebuild: ${p.tag}: ${name}\n`)
      execFileSync(p.cc[0], args, {stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8'})
      files.push(name)
    }
    rmSync(out, {recursive: true, force: true})
    mkdirSync(out, {recursive: true})
    for (const f of files) copyFileSync(join(work, f), join(out, f))
    const version = execFileSync(p.cc[0], [...p.cc.slice(1), '--version'], {encoding: 'utf8'}).split('\n')[0]
    built[p.tag] = {files, compiler: version}
  } catch (e) {
    // a platform whose libc lacks something native/ uses fails here, not when a user loads it
    skipped[p.tag] = `did not compile: ${(String(e.stderr ?? '').split('\n').find((l) => /error/.test(l)) ?? e.message).trim().slice(0, 200)}`
    console.error(`prebuild: ${p.tag} skipped: it did not compile`)
    delete built[p.tag]
    rmSync(out, {recursive: true, force: true})
  } finally {
    rmSync(work, {recursive: true, force: true})
  }
}

writeFileSync(join(root, 'prebuilds', 'manifest.json'), JSON.stringify({
  sources, note: 'SHA-256 of binding.gyp + native/** (scripts/native.cjs); a prebuild is used only while it matches',
  platforms: built, ...(Object.keys(skipped).length ? {skipped} : {}),
}, null, 2) + '\n')
console.error(`prebuild: ${Object.keys(built).join(', ')}${Object.keys(skipped).length ? `; skipped ${Object.entries(skipped).map(([k, v]) => `${k} (${v})`).join(', ')}` : ''}`)
