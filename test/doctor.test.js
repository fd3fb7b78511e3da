// `strata doctor` tries things rather than guessing: here, everything works;
// without unshare on PATH it says so and exits 5.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {symlinkSync} from 'node:fs'
import {join} from 'node:path'
import {strata, newHome, cleanHome, tmp} from './helpers.js'

test('doctor finds the kernel backend usable here', async (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  const r = strata(home, ['doctor', '--json'])
  assert.equal(r.status, 0, r.stdout + r.stderr)
  assert.equal(r.json.usable, true)
  assert.equal(r.json.backend, 'kernel')
  assert.equal(r.json.probe.dataOnly.ok, true)
  assert.ok(r.json.checks.every((c) => c.ok), JSON.stringify(r.json.checks))
})

test('doctor with unshare off PATH finds it where the system keeps it, and says so (issue 18)', async (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  const bin = tmp('strata-path-')
  symlinkSync(process.execPath, join(bin, 'node'))
  const r = strata(home, ['doctor'], {env: {PATH: bin}})
  assert.equal(r.status, 0, r.stdout + r.stderr)
  assert.match(r.stdout, /ok\s+unshare: util-linux unshare is installed \(\/usr\/bin\/unshare, not on your PATH: strata uses it there\)/)
  assert.match(r.stdout, /strata can run stacks here/)
})
