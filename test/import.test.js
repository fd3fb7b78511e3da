// Import details beyond fidelity: the digest cache never trusts a changed
// file, names move between layers, and id prefixes resolve.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {writeFileSync, utimesSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {strata, newHome, cleanHome, tmp} from './helpers.js'

test('a file rewritten with the same size and mtime is seen as changed', async (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  const src = tmp('strata-src-')
  const f = join(src, 'data')
  writeFileSync(f, 'A'.repeat(1000))
  const first = strata(home, ['import', src, '--json'])
  assert.equal(first.status, 0, first.stderr)
  const {mtime, atime} = statSync(f)
  writeFileSync(f, 'B'.repeat(1000))
  utimesSync(f, atime, mtime)
  const second = strata(home, ['import', src, '--json'])
  assert.equal(second.status, 0, second.stderr)
  assert.notEqual(second.json.layer.id, first.json.layer.id)
  assert.equal(second.json.layer.bytes.objectsAdded, 1)
  assert.equal(strata(home, ['stack', 'create', 's', second.json.layer.id.slice(0, 10)]).status, 0)
  const r = strata(home, ['run', 's', '--', 'cat', 'data'])
  assert.equal(r.stdout, 'B'.repeat(1000))
})

test('names move between layers; ids resolve by unique prefix', async (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  const a = tmp('strata-src-')
  const b = tmp('strata-src-')
  writeFileSync(join(a, 'f'), 'a')
  writeFileSync(join(b, 'f'), 'b')
  const la = strata(home, ['import', a, '--name', 'app', '--json']).json.layer
  const lb = strata(home, ['import', b, '--name', 'app', '--json'])
  assert.equal(lb.json.nameMovedFrom, la.id)
  assert.equal(lb.stderr, '', 'nothing on stderr under --json')
  const again = strata(home, ['import', a, '--name', 'app'])
  assert.match(again.stderr, /name 'app' moved from layer/)
  strata(home, ['import', b, '--name', 'app'])
  const ia = strata(home, ['layer', 'inspect', la.id.slice(0, 8), '--json']).json
  assert.deepEqual(ia.names, [])
  assert.deepEqual(strata(home, ['layer', 'inspect', 'app', '--json']).json.id, lb.json.layer.id)
})
