// The fast paths (src/cli/fast.ts, without oclif) must answer exactly as the
// oclif commands do: the same output, the same errors, the same exit codes.
// STRATA_NO_FAST=1 sends the same command line through oclif.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {strata, newHome, cleanHome, tmp} from './helpers.js'
import {makeRootfs} from './fixtures/rootfs.js'

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

test('run and run --root answer alike with and without the fast path: output, errors, exit codes, and what lands in the upper', (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  const src = makeRootfs(join(tmp('strata-fast-'), 'root'))
  assert.equal(strata(home, ['import', src, '--name', 'base', '--stack', 'box']).status, 0)
  const lines = [
    ['run', 'box', '--', 'sh', '-c', 'echo out; echo err >&2; cat etc/hostname; exit 3'],
    ['run', 'box', '--', 'nosuchcmd'],
    ['run', 'nosuch', '--', 'true'],
    ['run', 'box', '--'],
    ['run', '--root', 'box', '--', 'sh', '-c', 'echo out; echo err >&2; id -u; hostname; pwd; exit 4'],
    ['run', '--root', 'box', '--', 'nosuchcmd'],
    ['run', 'box', '--root', '--', 'sh', '-c', 'echo "$PATH"'],
  ]
  for (const args of lines) {
    const fast = strata(home, args)
    const slow = strata(home, args, {env: {STRATA_NO_FAST: '1'}})
    assert.deepEqual([fast.status, fast.stdout, fast.stderr], [slow.status, slow.stdout, slow.stderr], args.join(' '))
  }
  assert.equal(strata(home, ['run', 'box', '--', 'sh', '-c', 'echo fast > f1']).status, 0)
  assert.equal(strata(home, ['run', 'box', '--', 'sh', '-c', 'echo slow > f2'], {env: {STRATA_NO_FAST: '1'}}).status, 0)
  assert.equal(strata(home, ['run', '--root', 'box', '--', 'cat', '/f1', '/f2']).stdout, 'fast\nslow\n')
})
