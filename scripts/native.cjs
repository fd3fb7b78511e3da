// Where strata's native code comes from (plain CommonJS: the install script
// uses it before anything is compiled). prebuilds/<platform>-<arch>-<libc>/
// holds every target of binding.gyp, built by scripts/prebuild.js, and
// prebuilds/manifest.json records the SHA-256 of the native sources they were
// built from. A prebuild is used only while that hash still matches native/
// and binding.gyp; otherwise (a developer edited native/) build/Release is,
// so an edit is never silently ignored.
//
// Hashing the sources at every start cost a command a fifth of node's own
// start, so the hash is kept in dist/native-sources.json together with the
// sources' stat (names, and each file's size, mtime, ctime and inode): while
// the stat is the same the kept hash is, and any edit, added or removed file
// changes it, and then the sources are hashed again. ctime moves on every
// write and no tool sets it back, but in clock ticks: an edit of the same size
// in the same tick as the last change could keep the stat, so a stat is kept
// only once every source is a second old (git's "racy clean" rule); after
// that, any edit moves a ctime past it. The build, the install script and a
// start that had to hash write it, where they may.
'use strict'
const {closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync} = require('node:fs')
const {join} = require('node:path')

const root = join(__dirname, '..')
const stampFile = (dir) => join(dir, 'dist', 'native-sources.json')

/** binding.gyp and every file under native/, relative to dir, sorted */
function sourceFiles(dir) {
  const files = ['binding.gyp']
  const walk = (rel) => {
    for (const e of readdirSync(join(dir, rel), {withFileTypes: true})) {
      const p = rel + '/' + e.name
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) files.push(p)
    }
  }
  walk('native')
  return files.sort()
}

/** SHA-256 over binding.gyp and every file under native/ (names and contents, sorted by path) */
function sourcesHash(dir = root) {
  // node:crypto costs milliseconds to load: only here, where it is needed
  const h = require('node:crypto').createHash('sha256')
  for (const f of sourceFiles(dir)) {
    const data = readFileSync(join(dir, f))
    h.update(f + '\0' + data.length + '\0')
    h.update(data)
  }
  return h.digest('hex')
}

/** what changes whenever a source does: each file's name, size, mtime, ctime and inode; and the newest ctime (ns) */
function statSources(dir = root) {
  let newest = 0n
  const stat = sourceFiles(dir).map((f) => {
    const s = statSync(join(dir, f), {bigint: true})
    if (s.ctimeNs > newest) newest = s.ctimeNs
    return `${f} ${s.size} ${s.mtimeNs} ${s.ctimeNs} ${s.ino}`
  }).join('\n')
  return {stat, newest}
}
const sourcesStat = (dir = root) => statSources(dir).stat

// how old every source must be before its stat is kept (see above)
const SETTLED_NS = 1_000_000_000n
const age = (newest) => BigInt(Date.now()) * 1_000_000n - newest

/**
 * Writes dist/native-sources.json for these sources: true when written; false
 * when they changed meanwhile, changed less than a second ago, or it can't be
 * written. wait: first wait for the sources to be a second old (the install
 * script, just after npm unpacked them).
 */
function writeStamp(dir = root, {wait = false} = {}) {
  const before = statSources(dir)
  if (wait && age(before.newest) < SETTLED_NS) {
    const ms = Number((SETTLED_NS - age(before.newest)) / 1_000_000n) + 10
    if (ms < 5000) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
  }
  return keep(dir, before.stat, sourcesHash(dir))
}

function keep(dir, stat, sources) {
  const now = statSources(dir)
  if (now.stat !== stat || age(now.newest) < SETTLED_NS) return false
  const file = stampFile(dir)
  const tmp = `${file}.${process.pid}`
  try {
    writeFileSync(tmp, JSON.stringify({stat, sources}) + '\n')
    renameSync(tmp, file)
    return true
  } catch {
    try { unlinkSync(tmp) } catch {}
    return false
  }
}

/** sourcesHash, from dist/native-sources.json while the sources' stat matches it, else hashed (and kept where it may be) */
function currentSources(dir = root) {
  const {stat} = statSources(dir)
  try {
    const kept = JSON.parse(readFileSync(stampFile(dir), 'utf8'))
    if (kept.stat === stat && typeof kept.sources === 'string') return kept.sources
  } catch {}
  const sources = sourcesHash(dir)
  keep(dir, stat, sources)
  return sources
}

/** 'musl' or 'glibc' for the running node: the ELF interpreter it names */
function libc() {
  try {
    const fd = openSync(process.execPath, 'r')
    const head = Buffer.alloc(4096)
    try { readSync(fd, head, 0, head.length, 0) } finally { closeSync(fd) }
    if (head.includes('ld-musl-')) return 'musl'
    if (head.includes('ld-linux')) return 'glibc'
  } catch {}
  const report = process.report && process.report.getReport()
  return report && report.header && report.header.glibcVersionRuntime ? 'glibc' : 'musl'
}

/** this machine's prebuild directory name, e.g. linux-x64-glibc */
function platformTag() {
  return `${process.platform}-${process.arch}-${process.platform === 'linux' ? libc() : 'unknown'}`
}

function readManifest(dir = root) {
  try { return JSON.parse(readFileSync(join(dir, 'prebuilds', 'manifest.json'), 'utf8')) } catch { return null }
}

/**
 * Which file serves native target `file` (strata_sys.node, or an executable's
 * name) here: {path, from: 'prebuild'|'build', why}; path is null when none.
 */
function locate(file, dir = root) {
  const tag = platformTag()
  const manifest = readManifest(dir)
  const pre = join(dir, 'prebuilds', tag, file)
  const built = join(dir, 'build', 'Release', file)
  let why
  if (!manifest) why = 'no prebuilds/manifest.json'
  else if (!manifest.platforms || !manifest.platforms[tag] || !existsSync(pre)) why = `no prebuild for ${tag}`
  else if (manifest.sources !== currentSources(dir)) why = 'native/ changed since the prebuilds were made'
  else return {path: pre, from: 'prebuild', why: null}
  if (existsSync(built)) return {path: built, from: 'build', why}
  return {path: null, from: null, why}
}

/** the path of native target `file`, or an error saying how to get one */
function nativePath(file) {
  const found = locate(file)
  if (found.path) return found.path
  const e = new Error(`strata: no native ${file} for ${platformTag()} (${found.why}): run \`npm run build:native\` in ${root} (needs python3, make, a C compiler and node's headers)`)
  e.code = 'STRATA_NO_NATIVE'
  throw e
}

/** loads the Node-API addon target `name` */
function load(name) {
  return require(nativePath(name + '.node'))
}

module.exports = {sourcesHash, sourcesStat, currentSources, writeStamp, libc, platformTag, readManifest, locate, nativePath, load, root}
