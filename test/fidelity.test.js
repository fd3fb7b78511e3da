// A generated tree holding every case a layer must keep is imported, stacked
// and read back through `strata run`: the merged view must equal the source,
// entry by entry. Objects are named as `fsverity digest` names them.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {join} from 'node:path'
import {strata, newHome, cleanHome, inNs, tmp, root} from './helpers.js'

const scan = join(root, 'test', 'fixtures', 'scan.js')
const parse = (out) => out.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l))

/** A fresh store and a fresh fixture tree, both removed after the test. */
function fixture(t) {
  const home = newHome()
  const src = join(tmp('strata-src-'), 'tree')
  t.after(() => {
    cleanHome(home)
    inNs(['rm', '-rf', src], {allowFail: true})
  })
  inNs([process.execPath, join(root, 'test', 'fixtures', 'make-tree.js'), src])
  return {home, src}
}

test('import keeps every kind of entry, byte for byte and bit for bit, on every backend', async (t) => {
  const {home, src} = fixture(t)

  const imp = strata(home, ['import', src, '--name', 'fid', '--json'])
  assert.equal(imp.status, 0, imp.stderr)
  const layer = imp.json.layer
  assert.match(layer.id, /^[0-9a-f]{64}$/)
  assert.equal(layer.skipped.sockets, 1, 'the socket is skipped and counted')
  assert.equal(layer.skipped.squashedOwners, 0)
  // the id import computed from what it wrote is the one read back from disk
  const check = strata(home, ['check', '--quick', '--json'])
  assert.equal(check.status, 0, check.stdout)
  assert.equal(check.json.ok, true)

  const source = parse(inNs([process.execPath, scan, src]).stdout).filter((e) => e.type !== 'sock')
  for (const backend of ['kernel', 'kernel-flat', 'fuse']) {
    await t.test(backend, () => {
      const c = strata(home, ['stack', 'create', `fid-${backend}`, 'fid', '--backend', backend, '--json'])
      assert.equal(c.status, 0, c.stderr)
      assert.equal(c.json.backend, backend)
      const merged = strata(home, ['run', `fid-${backend}`, '--', process.execPath, scan, '.'])
      assert.equal(merged.status, 0, merged.stderr)
      sameView(source, parse(merged.stdoutBuf))
    })
  }
})

/** The merged view equals the source, entry by entry, hardlink groups included. */
function sameView(want, got) {
  const byPath = (list) => new Map(list.map((e) => [e.path, e]))
  const w = byPath(want)
  const g = byPath(got)
  assert.deepEqual([...g.keys()].sort(), [...w.keys()].sort(), 'the same paths')

  // hardlink groups: entries sharing an inode in the source share one in the view
  const groups = (m) => {
    const byIno = new Map()
    for (const e of m.values()) if (e.type !== 'dir') byIno.set(e.ino, [...(byIno.get(e.ino) ?? []), e.path])
    return [...byIno.values()].filter((g) => g.length > 1).map((g) => g.sort().join(',')).sort()
  }
  const wg = groups(w)
  assert.ok(wg.length >= 2, 'the fixture has hardlink groups')
  assert.deepEqual(groups(g), wg)

  let compared = 0
  for (const [path, e] of w) {
    if (path === '') continue // the merged root is the stack's upper dir
    const {ino: _a, ...want1} = e
    const {ino: _b, ...got1} = g.get(path)
    assert.deepEqual(got1, want1, `entry ${Buffer.from(path, 'hex').toString()}`)
    compared++
  }
  assert.ok(compared > 330, `compared ${compared} entries`)
}

// objects by their full names (format 2 adds a short alias of each, a hardlink: see format2.test.js)
const OBJECT_NAMES = ['-regextype', 'posix-extended', '-regex', '.*/[0-9a-f]{62}']

test('object names are fs-verity digests, holes stay holes, and a re-import stores nothing', async (t) => {
  const {home, src} = fixture(t)
  const first = strata(home, ['import', src, '--json'])
  assert.equal(first.status, 0, first.stderr)

  const objects = inNs(['find', join(home, 'objects'), '-type', 'f', ...OBJECT_NAMES]).stdout.toString().split('\n').filter(Boolean)
  assert.ok(objects.length >= 10, `${objects.length} objects`)
  assert.equal(objects.length, first.json.layer.bytes.objectsAdded)
  for (const o of objects) {
    const r = spawnSync('fsverity', ['digest', '--compact', o])
    assert.equal(r.status, 0, r.stderr?.toString())
    const name = o.split('/').slice(-2).join('')
    assert.equal(r.stdout.toString().trim(), name, `fsverity digest of ${o}`)
  }

  // the 1 GiB sparse file's object is sparse too
  const big = objects.map((o) => [o, Number(spawnSync('stat', ['-c', '%s %b %B', o]).stdout.toString().split(' ')[0]), spawnSync('du', ['-k', o]).stdout.toString()]).find(([, size]) => size === 1 << 30)
  assert.ok(big, 'the 1 GiB object exists')
  const kib = Number(big[2].split('\t')[0])
  assert.ok(kib < 1024, `the 1 GiB object uses ${kib} KiB on disk`)

  const again = strata(home, ['import', src, '--json'])
  assert.equal(again.status, 0, again.stderr)
  assert.equal(again.json.layer.id, first.json.layer.id, 'the same tree gives the same id')
  assert.equal(again.json.existing, true)
  const after = inNs(['find', join(home, 'objects'), '-type', 'f', ...OBJECT_NAMES]).stdout.toString().split('\n').filter(Boolean)
  assert.deepEqual(after.sort(), objects.sort(), 'no new object')
})
