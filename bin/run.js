#!/usr/bin/env node
// strata's entry point. Plain listings, --version and help answer without
// oclif (src/cli/fast.ts); completion answers on the keystroke path without
// loading oclif; `run [--root] STACK -- CMD` runs without oclif (src/cli/run-fast.ts);
// `import` starts its namespace while oclif loads; `exec` into a running
// session joins it without oclif.
const argv = process.argv.slice(2)
// only what fast.ts may answer loads it: every other command goes straight on
const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv
const listing = (argv[0] === 'stack' || argv[0] === 'layer') && (argv[1] === 'list' || argv[1] === 'ls')
const fast = listing || ['--version', 'help', 'ps', 'path', undefined].includes(argv[0]) || own.includes('--help') || own.includes('-h')
  ? await (await import('../dist/fast.mjs')).fastPath(argv, new URL('../', import.meta.url))
  : null
const fastExec = fast === null && argv[0] === 'exec' && argv[2] === '--' ? await (await import('../dist/src/runtime/exec-fast.js')).execFast(argv[1], argv.slice(3)) : null
const fastRun = fast === null && argv[0] === 'run' ? await (await import('../dist/run-fast.mjs')).runFast(argv) : null
if (fast !== null) process.exitCode = fast
else if (fastRun !== null) process.exitCode = fastRun
else if (fastExec !== null) process.exitCode = fastExec
else if (argv[0] === '__complete') {
  const {main} = await import('../dist/src/cli/complete.js')
  await main(argv.slice(1))
} else {
  if (argv[0] === 'import') (await import('../dist/src/runtime/prestart.js')).prestartFor(argv)
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}
