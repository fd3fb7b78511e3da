// strata inside strata: `strata run S -- strata run S -- CMD` runs CMD in the
// view the outer run mounted (its writes land in the same upper), with the
// caller's environment and nothing of strata's own.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {chmodSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {bin, scratch, strata, tmp} from './helpers.js'

test('strata run S -- strata run S -- cat etc/hostname: the inner run uses the outer one\'s view', (t) => {
  const {home, work} = scratch(t)
  mkdirSync(join(work, 'etc'))
  writeFileSync(join(work, 'etc', 'hostname'), 'nested-box\n')
  assert.equal(strata(home, ['import', work, '--stack', 'S']).status, 0)
  // `strata` on PATH, as a user has it
  const binDir = tmp('strata-bin-')
  writeFileSync(join(binDir, 'strata'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} "$@"\n`)
  chmodSync(join(binDir, 'strata'), 0o755)
  const env = {PATH: `${binDir}:${process.env.PATH}`}

  let r = strata(home, ['run', 'S', '--', 'strata', 'run', 'S', '--', 'cat', 'etc/hostname'], {env})
  assert.equal(r.stderr, '')
  assert.equal(r.status, 0)
  assert.equal(r.stdout, 'nested-box\n')

  // the inner command's status comes back through both, and its writes land in the stack's upper
  r = strata(home, ['run', 'S', '--', 'strata', 'run', 'S', '--', 'sh', '-c', 'echo hi > greeting; exit 7'], {env})
  assert.equal(r.status, 7, r.stderr)
  r = strata(home, ['diff', 'S', '--json'])
  assert.ok(r.json.changes.some((c) => c.path === '/greeting' && c.kind === 'added'), r.stdout)
  r = strata(home, ['run', 'S', '--', 'cat', 'greeting'])
  assert.equal(r.stdout, 'hi\n')

  // inside the stack's session too (exec joins the holder's namespaces)
  assert.equal(strata(home, ['mount', 'S']).status, 0)
  t.after(() => strata(home, ['umount', 'S']))
  r = strata(home, ['exec', 'S', '--', 'strata', 'run', 'S', '--', 'cat', 'etc/hostname'], {env})
  assert.equal(r.stdout, 'nested-box\n', r.stderr)
  assert.equal(r.status, 0)
  assert.equal(strata(home, ['umount', 'S']).status, 0)

  // the command's words reach it as given, a second `--` and repeated words included
  r = strata(home, ['run', 'S', '--', 'echo', 'S', '--', 'S', 'x'])
  assert.equal(r.stdout, 'S -- S x\n', r.stderr)
})

test('nothing of strata\'s own reaches the command\'s environment', (t) => {
  const {home, work} = scratch(t)
  writeFileSync(join(work, 'f'), 'x')
  assert.equal(strata(home, ['import', work, '--stack', 'S']).status, 0)
  const r = strata(home, ['run', 'S', '--', 'env'], {env: {MY_VAR: 'mine'}})
  assert.equal(r.status, 0, r.stderr)
  const vars = r.stdout.trim().split('\n').map((l) => l.slice(0, l.indexOf('=')))
  assert.ok(vars.includes('MY_VAR'))
  const outer = Object.keys({...process.env, STRATA_HOME: home, NO_COLOR: '1', MY_VAR: 'mine'}).sort()
  assert.deepEqual(vars.filter((v) => /^STRATA/.test(v)).sort(), outer.filter((v) => /^STRATA/.test(v)), 'only what the caller set')
  assert.deepEqual([...new Set(vars)].filter((v) => !['PWD', 'OLDPWD', 'SHLVL', '_'].includes(v)).sort(), outer.filter((v) => !['PWD', 'OLDPWD', 'SHLVL', '_'].includes(v)))
})
