#!/usr/bin/env node
// strata's entry point. Plain listings, --version and help answer without
// oclif (src/cli/fast.ts); completion answers on the keystroke path without
// loading oclif; `run` and `import` start their namespace while oclif loads; `exec` into a
// running session joins it without oclif.
// CommonJS (bin/package.json): node's ES module loader costs a fifth of node's
// own start, so the fast paths and completion are CommonJS bundles
// (scripts/bundle.js) and nothing loads an ES module before oclif's commands do.
'use strict'
const {join} = require('node:path')
const root = join(__dirname, '..')
const argv = process.argv.slice(2)

async function main() {
  // only what fast.ts may answer loads it: every other command goes straight on
  const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv
  const listing = (argv[0] === 'stack' || argv[0] === 'layer') && (argv[1] === 'list' || argv[1] === 'ls')
  const fast = listing || ['--version', 'help', 'ps', 'path', undefined].includes(argv[0]) || own.includes('--help') || own.includes('-h')
    ? await require('../dist/fast.cjs').fastPath(argv, root)
    : null
  const fastExec = fast === null && argv[0] === 'exec' && argv[2] === '--' ? await (await import('../dist/src/runtime/exec-fast.js')).execFast(argv[1], argv.slice(3)) : null
  if (fast !== null) process.exitCode = fast
  else if (fastExec !== null) process.exitCode = fastExec
  else if (argv[0] === '__complete') {
    require('../dist/complete.cjs').main(argv.slice(1))
  } else {
    if (argv[0] === 'run' || argv[0] === 'import') (await import('../dist/src/runtime/prestart.js')).prestartFor(argv)
    const {execute} = await import('@oclif/core')
    await execute({dir: root})
  }
}
main().catch((e) => {
  // as an ES module's top-level await failing would: the stack, exit 1
  process.exitCode = 1
  console.error(e)
})
