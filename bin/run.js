#!/usr/bin/env node
// strata's entry point. Completion answers on the keystroke path without
// loading oclif; `run` and `import` start their namespace while oclif loads; `exec` into a
// running session joins it without oclif.
const argv = process.argv.slice(2)
const fastExec = argv[0] === 'exec' && argv[2] === '--' ? await (await import('../dist/src/runtime/exec-fast.js')).execFast(argv[1], argv.slice(3)) : null
if (fastExec !== null) process.exitCode = fastExec
else if (argv[0] === '__complete') {
  const {main} = await import('../dist/src/cli/complete.js')
  await main(argv.slice(1))
} else {
  if (argv[0] === 'run' || argv[0] === 'import') (await import('../dist/src/runtime/prestart.js')).prestartFor(argv)
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}
