// Everyday use (issue 18): owners and counts reported as they are, help and
// flags as podman and git users type them, messages that name the cause.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {writeFileSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {strata, scratch, inNs} from './helpers.js'
import {tarOf} from './fixtures/tar.js'

const owners = '/var/lib/strata-test/owners' // scripts/provision.sh: root's files beside the test user's

/** uid:gid of each path in a layer's tree, read inside the namespace strata uses. */
function idsIn(home, id, paths) {
  const tree = join(home, 'layers', id, 'tree')
  const out = inNs(['stat', '-c', '%u:%g', ...paths.map((p) => join(tree, p))]).stdout.toString().trim().split('\n')
  return Object.fromEntries(paths.map((p, i) => [p, out[i]]))
}

test('owners outside the id mapping are counted, named and kept as the documented id (auto: 65534)', (t) => {
  const {home} = scratch(t)
  const r = strata(home, ['import', owners, '--json'])
  assert.equal(r.status, 0, r.stderr)
  const s = r.json.layer.skipped
  assert.equal(s.squashedOwners, 4)
  assert.deepEqual([...s.paths].sort(), ['/dir', '/dir/big', '/rootfile', '/rootgroup'])
  // one line, strata's form, naming the first few
  const warning = r.stderr.trim().split('\n')
  assert.equal(warning.length, 1, r.stderr)
  assert.match(warning[0], /^strata: warning: 4 entries had an owner outside your id mapping, which strata can't keep: .*\/rootgroup.*65534/)
  const ids = idsIn(home, r.json.layer.id, ['mine', 'rootgroup', 'rootfile', 'dir', 'dir/big'])
  assert.deepEqual(ids, {mine: '0:0', rootgroup: '0:65534', rootfile: '65534:65534', dir: '65534:65534', 'dir/big': '65534:65534'})
  const human = strata(home, ['layer', 'inspect', r.json.layer.id])
  assert.match(human.stdout, /4 owners outside the id mapping/)
})

test('with --map single, owners outside the mapping become yours (0), counted and named', (t) => {
  const {home} = scratch(t)
  const r = strata(home, ['import', owners, '--json'], {env: {STRATA_MAP: 'single'}})
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.json.layer.skipped.squashedOwners, 4)
  assert.deepEqual([...r.json.layer.skipped.paths].sort(), ['/dir', '/dir/big', '/rootfile', '/rootgroup'])
})

test('a tar id beyond the mapping is squashed to 0, counted and named', (t) => {
  const {home, work} = scratch(t)
  const f = join(work, 'far.tar')
  writeFileSync(f, tarOf([{name: 'near', data: 'x', uid: 5, gid: 5}, {name: 'far', data: 'y', uid: 900000, gid: 5}]))
  const r = strata(home, ['import', f, '--json'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.json.layer.skipped.squashedOwners, 1)
  assert.deepEqual(r.json.layer.skipped.paths, ['/far'])
  assert.deepEqual(idsIn(home, r.json.layer.id, ['near', 'far']), {near: '5:5', far: '0:0'})
})

test('counts are of what the layer holds: a later duplicate tar entry replaces the earlier one', (t) => {
  const {home, work} = scratch(t)
  const f = join(work, 'dup.tar')
  writeFileSync(f, tarOf([{name: 'a', data: 'one'}, {name: 'a', data: 'two'}, {name: 'd', type: 'dir'}, {name: 'd', type: 'dir'}, {name: 'big', data: 'z'.repeat(100)}, {name: 'big', data: 'y'.repeat(200)}]))
  const r = strata(home, ['import', f, '--json'])
  assert.equal(r.status, 0, r.stderr)
  const c = r.json.layer.counts
  assert.deepEqual({entries: c.entries, dirs: c.dirs, files: c.files, stubs: c.stubs}, {entries: 4, dirs: 2, files: 1, stubs: 1})
  assert.equal(r.json.layer.bytes.content, 3 + 200)
  const tree = join(home, 'layers', r.json.layer.id, 'tree')
  assert.equal(inNs(['cat', join(tree, 'a')]).stdout.toString(), 'two')
})
