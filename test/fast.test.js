// The fast paths (src/cli/fast.ts, without oclif) must answer exactly as the
// oclif commands do: the same output, the same errors, the same exit codes.
// STRATA_NO_FAST=1 sends the same command line through oclif.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {strata, newHome, cleanHome, tmp} from './helpers.js'

test('listings, --version and help answer alike with and without the fast path', (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  const lines = [['stack', 'list'], ['stack', 'ls', '--json'], ['layer', 'list', '--json'], ['ps', '--json'], ['path', 'nosuch'], ['path', 'nosuch', '--json']]
  // no store yet: every reader says so, both ways
  for (const args of lines) {
    const fast = strata(home, args)
    const slow = strata(home, args, {env: {STRATA_NO_FAST: '1'}})
    assert.deepEqual([fast.status, fast.stdout, fast.stderr], [slow.status, slow.stdout, slow.stderr], `no store: ${args.join(' ')}`)
  }
  const src = join(tmp('strata-fast-'), 'tree')
  mkdirSync(src)
  writeFileSync(join(src, 'f'), 'x'.repeat(100))
  assert.equal(strata(home, ['import', src, '--name', 'base', '--stack', 'dev']).status, 0)
  for (const args of [...lines, ['layer', 'ls'], ['--version'], ['--help'], ['stack', '--help'], ['help', 'stack', 'create'], ['import', '-h']]) {
    const fast = strata(home, args)
    const slow = strata(home, args, {env: {STRATA_NO_FAST: '1'}})
    assert.deepEqual([fast.status, fast.stdout, fast.stderr], [slow.status, slow.stdout, slow.stderr], args.join(' '))
  }
  assert.match(strata(home, ['stack', 'list']).stdout, /^dev\s+base\s/m)
})
