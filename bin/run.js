#!/usr/bin/env node
// strata's entry point. Completion answers on the keystroke path without loading oclif.
if (process.argv[2] === '__complete') {
  const {main} = await import('../dist/src/cli/complete.js')
  await main(process.argv.slice(3))
} else {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}
