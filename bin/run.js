#!/usr/bin/env node
// strata's entry point. Plain listings, --version and help answer without
// oclif (src/cli/fast.ts); completion answers on the keystroke path without
// loading oclif; `run [--root] STACK -- CMD` runs without oclif (src/cli/run-fast.ts);
// `import` starts its namespace while oclif loads; `exec` into a running
// session joins it without oclif.
// CommonJS (bin/package.json): node's ES module loader costs a fifth of node's
// own start, so the fast paths and completion are CommonJS bundles
// (scripts/bundle.js), the larger ones loaded through V8's code cache (see
// bundle below), and no ES module loads on those paths.
'use strict'
const {join} = require('node:path')
const root = join(__dirname, '..')
const argv = process.argv.slice(2)

async function main() {
  // only what fast.ts may answer loads it: every other command goes straight on
  const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv
  const listing = (argv[0] === 'stack' || argv[0] === 'layer') && (argv[1] === 'list' || argv[1] === 'ls')
  const fast = listing || ['--version', 'help', 'ps', 'path', undefined].includes(argv[0]) || own.includes('--help') || own.includes('-h')
    ? await require('../dist/fast.cjs').fastPath(argv, root, () => bundle('listings', listing ? `${argv[0]}-list` : argv[0]).listings)
    : null
  const fastExec = fast === null && argv[0] === 'exec' && argv[2] === '--' ? await (await import('../dist/src/runtime/exec-fast.js')).execFast(argv[1], argv.slice(3)) : null
  const fastRun = fast === null && argv[0] === 'run' ? await bundle('run-fast', own.includes('--root') ? 'run-root' : 'run').runFast(argv) : null
  if (fast !== null) process.exitCode = fast
  else if (fastRun !== null) process.exit(fastRun) // the command's status; node's own teardown after a run is time a script waits for
  else if (fastExec !== null) process.exitCode = fastExec
  else if (argv[0] === '__complete') {
    await bundle('complete', 'complete').main(argv.slice(1))
  } else {
    if (argv[0] === 'import') (await import('../dist/src/runtime/prestart.js')).prestartFor(argv)
    const {execute} = await import('@oclif/core')
    await execute({dir: root})
  }
}

/**
 * What require('../dist/NAME.cjs') gives, compiled with V8's code cache: a
 * bundle's compiling, and its functions' when they first run, cost a listing
 * about as much as its work. The cache of one path through the bundle (key:
 * `stack-list`, `help`…) is what V8 kept after that path's first run of this
 * build (dist/code-cache/NAME.BUILD.KEY; the build empties the directory); V8
 * refuses one made by another node or with other flags, and then the bundle
 * compiles as it would without, and the cache is made anew. It sits beside
 * the code and is written as the code is (not group- or world-writable), so
 * whoever could change it could change the code itself; one that others may
 * write is not used.
 */
function bundle(name, key) {
  const fs = require('node:fs')
  const {Script} = require('node:vm')
  const dist = join(root, 'dist')
  const file = join(dist, `${name}.cjs`)
  const source = fs.readFileSync(file, 'utf8')
  const build = /^\/\/ build ([0-9a-f]+)\n/.exec(source)?.[1]
  const cacheFile = build && join(dist, 'code-cache', `${name}.${build}.${key}`)
  let cachedData
  if (cacheFile) {
    try {
      const fd = fs.openSync(cacheFile, 'r')
      try {
        const {mode, size} = fs.fstatSync(fd)
        if ((mode & 0o022) === 0 && fs.readSync(fd, (cachedData = Buffer.allocUnsafe(size))) !== size) cachedData = undefined
      } finally {
        fs.closeSync(fd)
      }
    } catch {}
  }
  const script = new Script(require('node:module').wrap(source), {filename: file, cachedData})
  if (cacheFile && (!cachedData || script.cachedDataRejected)) process.once('exit', () => keepCache(script, cacheFile))
  const m = {exports: {}}
  script.runInThisContext().call(m.exports, m.exports, require('node:module').createRequire(file), m, file, dist)
  return m.exports
}

/** Writes what V8 compiled of the bundle so far to cacheFile (by rename), where the package may be written. */
function keepCache(script, cacheFile) {
  const fs = require('node:fs')
  const tmp = `${cacheFile}.${process.pid}`
  try {
    fs.mkdirSync(join(cacheFile, '..'), {recursive: true, mode: 0o755})
    const fd = fs.openSync(tmp, 'wx', 0o644)
    try {
      fs.writeFileSync(fd, script.createCachedData())
    } finally {
      fs.closeSync(fd)
    }
    fs.renameSync(tmp, cacheFile)
  } catch {
    try { fs.unlinkSync(tmp) } catch {}
  }
}

main().catch((e) => {
  // as an ES module's top-level await failing would: the stack, exit 1
  process.exitCode = 1
  console.error(e)
})
