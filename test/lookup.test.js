// Layer lookup by name or id without reading every layer.json (docs/design.md,
// Layer lookup): index/names/<name> is a symlink to the layer's id, followed by
// the ids a name is moving from while a move is under way. The other layers'
// layer.json are damaged on purpose: a lookup that read them would fail, as
// `layer list` (which must read them all) does.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {strata, newHome, cleanHome, inNs, tmp} from './helpers.js'

function src(label) {
  const d = tmp('strata-lookup-src-')
  mkdirSync(join(d, 'etc'))
  writeFileSync(join(d, 'etc', 'which'), `${label}\n`)
  writeFileSync(join(d, 'big'), `${label} `.repeat(40))
  return d
}
const ok = (home, args) => {
  const r = strata(home, args)
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`)
  return r
}
const importAs = (home, dir, name) => ok(home, ['import', dir, ...(name ? ['--name', name] : []), '--json']).json.layer.id
const link = (home, name) => readlinkSync(join(home, 'index', 'names', name.replaceAll('/', '%')))
const namesOn = (home) => Object.fromEntries(strata(home, ['layer', 'list', '--json']).json.layers.map((l) => [l.id, l.names]))
const which = (home, stack) => ok(home, ['run', stack, '--', 'cat', 'etc/which']).stdout

test('a name or an id prefix finds its layer reading no other layer.json', (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  const a = importAs(home, src('a'), 'a')
  const b = importAs(home, src('b'), 'docker.io/library/b:1')
  const c = importAs(home, src('c'))
  assert.equal(link(home, 'a'), a, 'the index names a')
  assert.equal(link(home, 'docker.io/library/b:1'), b, "a name with '/' is a link named with '%'")
  assert.ok(!existsSync(join(home, 'index', 'names', c)), 'a layer without a name has no link')

  // every layer.json but a's damaged
  const saved = {}
  for (const id of [b, c]) {
    const f = join(home, 'layers', id, 'layer.json')
    saved[id] = readFileSync(f)
    inNs(['sh', '-c', 'echo "{not json" > "$1"', 'sh', f])
  }
  assert.notEqual(strata(home, ['layer', 'list']).status, 0, 'control: reading every layer.json fails now')

  ok(home, ['stack', 'create', 'SA', 'a'])
  assert.equal(which(home, 'SA'), 'a\n')
  ok(home, ['stack', 'create', 'SC', c.slice(0, 8)]) // an id prefix: a readdir, no layer.json
  assert.equal(which(home, 'SC'), 'c\n')
  ok(home, ['layer', 'export', 'a', '-o', join(tmp(), 'a.tar')])
  const r = strata(home, ['stack', 'create', 'SX', 'nothing-has-this-name'])
  assert.equal(r.status, 3, r.stderr)
  assert.match(r.stderr, /no layer named 'nothing-has-this-name'/)

  for (const id of [b, c]) inNs(['sh', '-c', 'cat > "$1"', 'sh', join(home, 'layers', id, 'layer.json')], {input: saved[id], stdio: ['pipe', 'pipe', 'pipe']})
  assert.equal(strata(home, ['check']).status, 0)
})

test('a name moves with its link; a move killed half-way is read right and finished by the next; layer rm drops the link', (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  const s1 = src('one')
  const s2 = src('two')
  const one = importAs(home, s1, 'n')
  const two = importAs(home, s2, 'n')
  assert.equal(link(home, 'n'), two)
  assert.deepEqual(namesOn(home), {[one]: [], [two]: ['n']})

  // as a move back to `one` killed after the link was written and before one's layer.json got the name:
  // the link names one first, two after; two still has the name
  inNs(['sh', '-c', 'ln -sfn "$1" "$2"', 'sh', `${one} ${two}`, join(home, 'index', 'names', 'n')])
  ok(home, ['stack', 'create', 'S', 'n'])
  assert.equal(which(home, 'S'), 'two\n', 'the first id on the link that has the name')
  // the same import again finishes the move: one has it, two not, the link names one alone
  importAs(home, s1, 'n')
  assert.deepEqual(namesOn(home), {[one]: ['n'], [two]: []})
  assert.equal(link(home, 'n'), one)

  ok(home, ['stack', 'rm', 'S'])
  ok(home, ['layer', 'rm', 'n'])
  assert.ok(!existsSync(join(home, 'index', 'names', 'n')), 'the removed layer took its link')
  assert.equal(strata(home, ['stack', 'create', 'T', 'n']).status, 3)
})

test('a store of format 2 (no index) is read by every layer.json, and the first command that writes makes its index', (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  const id = importAs(home, src('x'), 'x')
  importAs(home, src('y'), 'y')
  // as format 2 left it: no index/, store.json says 2
  inNs(['sh', '-c', 'rm -rf "$1/index" && sed -i \'s/"format": 3/"format": 2/\' "$1/store.json"', 'sh', home])
  ok(home, ['layer', 'export', 'x', '-o', join(tmp(), 'x.tar')])
  assert.ok(!existsSync(join(home, 'index')), 'reading does not make it')
  ok(home, ['gc'])
  assert.equal(JSON.parse(readFileSync(join(home, 'store.json'), 'utf8')).format, 3)
  assert.equal(link(home, 'x'), id)
  ok(home, ['stack', 'create', 'S', 'x'])
  assert.equal(which(home, 'S'), 'x\n')
})

test('a layer made of an OCI blob is found again by its blob, reading no other layer.json', (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  importAs(home, src('lower'), 'lower')
  importAs(home, src('upper'), 'upper')
  ok(home, ['stack', 'create', 'S', 'upper', 'lower'])
  const out = join(tmp('strata-lookup-oci-'), 'layout')
  const ex = ok(home, ['stack', 'export', 'S', '--oci', `${out}:t`, '--json']).json

  const home2 = newHome()
  t.after(() => cleanHome(home2))
  const other = importAs(home2, src('other'))
  const first = ok(home2, ['import', `${out}:t`, '--json']).json
  assert.ok(first.layers.every((l) => !l.existing))
  for (const l of ex.layers) assert.equal(readlinkSync(join(home2, 'index', 'blobs', `64-${l.digest.replace(':', '-')}`)), l.id, 'each blob names its layer')

  // another layer's layer.json damaged: the import of the same blobs reads only theirs
  inNs(['sh', '-c', 'echo "{not json" > "$1"', 'sh', join(home2, 'layers', other, 'layer.json')])
  assert.notEqual(strata(home2, ['layer', 'list']).status, 0, 'control: reading every layer.json fails now')
  const again = ok(home2, ['import', `${out}:t`, '--json']).json
  assert.ok(again.layers.every((l) => l.existing), 'the blobs were known: nothing imported again')
  assert.deepEqual(again.layers.map((l) => l.layer.id), first.layers.map((l) => l.layer.id))
})
