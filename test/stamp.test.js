// strata stamp: a tree in stub form mounts with plain overlayfs (no strata),
// reads back identical; --check finds damage; --undo restores it byte for
// byte, metadata included. import --move takes the same path into the store.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {randomBytes} from 'node:crypto'
import {strata, newHome, cleanHome, inNs, tmp, root, scratch} from './helpers.js'

const scan = join(root, 'test', 'fixtures', 'scan.js')
const makeTree = join(root, 'test', 'fixtures', 'make-tree.js')
const parse = (out) => out.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l))
const noIno = (list) => list.map(({ino: _i, ...e}) => e)
const noRoot = (list) => list.filter((e) => e.path !== '')

test('a stamped tree mounts with plain overlayfs and reads back identical; --check; --undo restores it', async (t) => {
  const {home, work} = scratch(t, 'strata-stamp-')
  const tree = join(work, 'tree')
  const objects = join(work, 'objects')
  inNs([process.execPath, makeTree, tree])
  const original = parse(inNs([process.execPath, scan, tree]).stdout)
  const before = inNs(['du', '-sb', '--apparent-size', tree]).stdout.toString()

  const r = strata(home, ['stamp', tree, '--objects', objects, '--json'])
  assert.equal(r.status, 0, r.stderr)
  assert.ok(r.json.files >= 12, `${r.json.files} files stamped`)
  assert.equal(r.json.moved, r.json.stored, 'same filesystem: every new object moved by rename')
  assert.ok(r.json.dropped >= 1, 'the duplicate content was dropped')
  // the tree itself holds no data now: stubs are sparse
  const used = Number(inNs(['du', '-s', '-B1', tree]).stdout.toString().split('\t')[0])
  assert.ok(used < 8 << 20, `the stamped tree uses ${used} bytes (was ${before.trim()})`)

  // plain kernel overlay, no strata: the stub tree over the objects as a data-only layer
  const m = inNs(['sh', '-c', `cd ${work} && mkdir -p m && mount -t overlay overlay -o lowerdir=tree::objects,userxattr m && exec ${process.execPath} ${scan} m`])
  const mounted = parse(m.stdout)
  assert.deepEqual(noIno(noRoot(mounted)), noIno(noRoot(original)), 'the mounted view equals the original')

  const ok = strata(home, ['stamp', tree, '--objects', objects, '--check', '--json'])
  assert.equal(ok.status, 0, ok.stderr)
  assert.equal(ok.json.files, r.json.files)
  // a damaged object is found
  const victim = inNs(['sh', '-c', `find ${objects} -type f -size +100k -size -1000k | head -1`]).stdout.toString().trim()
  inNs(['sh', '-c', `chmod u+w ${victim} && printf X | dd of=${victim} bs=1 seek=10 conv=notrunc 2>/dev/null && chmod 444 ${victim}`])
  const bad = strata(home, ['stamp', tree, '--objects', objects, '--check'])
  assert.equal(bad.status, 6, bad.stderr)
  assert.match(bad.stderr, /does not match its digest/)
  // undo refuses to restore from damage, changing nothing
  const refused = strata(home, ['stamp', tree, '--objects', objects, '--undo'])
  assert.equal(refused.status, 6)
  assert.match(refused.stderr, /nothing was changed/)
  // a missing object too
  inNs(['rm', '-f', victim])
  const missing = strata(home, ['stamp', tree, '--objects', objects, '--check'])
  assert.equal(missing.status, 6)
  assert.match(missing.stderr, /is missing/)
})

test('stamp --undo restores byte for byte, metadata included', async (t) => {
  const {home, work} = scratch(t, 'strata-stamp-')
  const tree = join(work, 'tree')
  const objects = join(work, 'objects')
  inNs([process.execPath, makeTree, tree])
  const original = parse(inNs([process.execPath, scan, tree]).stdout)
  assert.equal(strata(home, ['stamp', tree, '--objects', objects]).status, 0)
  // stamping twice is harmless: stubs stay stubs
  const again = strata(home, ['stamp', tree, '--objects', objects, '--json'])
  assert.equal(again.json.files, 0)
  const u = strata(home, ['stamp', tree, '--objects', objects, '--undo', '--json'])
  assert.equal(u.status, 0, u.stderr)
  const restored = parse(inNs([process.execPath, scan, tree]).stdout)
  // every entry: content, size, mode, owner, ns mtime, xattrs (stub xattrs gone); the root too
  assert.deepEqual(noIno(restored), noIno(original))
  // hardlink groups survive
  const groups = (list) => {
    const by = new Map()
    for (const e of list) if (e.type === 'file') by.set(e.ino, [...(by.get(e.ino) ?? []), e.path])
    return [...by.values()].filter((g) => g.length > 1).map((g) => g.sort().join()).sort()
  }
  assert.deepEqual(groups(restored), groups(original))
  const sparse = inNs(['du', '-k', join(tree, 'sparse-1g')]).stdout.toString()
  assert.ok(Number(sparse.split('\t')[0]) < 1024, `the restored sparse file stays sparse (${sparse.trim()} KiB)`)
})

test('import --move: the same layer as a directory import, data moved by rename, the directory consumed', async (t) => {
  const {home, work} = scratch(t, 'strata-stamp-')
  const tree = join(work, 'tree')
  const copy = join(work, 'copy')
  inNs([process.execPath, makeTree, tree])
  inNs(['cp', '-a', tree, copy])
  const inode = inNs(['stat', '-c', '%i', join(copy, 'large.bin')]).stdout.toString().trim()
  const dir = strata(home, ['import', tree, '--json'])
  assert.equal(dir.status, 0, dir.stderr)
  // a fresh store, so the large file's object must come from the moved file
  const home2 = newHome()
  t.after(() => cleanHome(home2))
  const mv = strata(home2, ['import', '--move', copy, '--json'])
  assert.equal(mv.status, 0, mv.stderr)
  assert.equal(mv.json.layer.id, dir.json.layer.id, 'same layer id as the directory import')
  assert.ok(mv.json.moved >= 10, `${mv.json.moved} objects moved`)
  assert.equal(inNs(['test', '-e', copy], {allowFail: true}).status, 1, 'the directory is consumed')
  const inodes = inNs(['find', join(home2, 'objects'), '-type', 'f', '-printf', '%i\n']).stdout.toString().split('\n')
  assert.ok(inodes.includes(inode), 'large.bin\'s inode is now an object: zero-copy')
})

test('an object directory inside the tree is left out: stamping again keeps every object; a tree in its own object directory is refused', async (t) => {
  const {home, work} = scratch(t, 'strata-stamp-')
  const tree = join(work, 'tree')
  const objects = join(tree, '.objects')
  mkdirSync(join(tree, 'd'), {recursive: true})
  const data = randomBytes(5000)
  writeFileSync(join(tree, 'd', 'f'), data)
  for (let i = 0; i < 2; i++) {
    const r = strata(home, ['stamp', tree, '--objects', objects, '--json'])
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.json.files, 1 - i, `run ${i + 1}: only d/f, once; never an object`)
  }
  assert.equal(strata(home, ['stamp', tree, '--objects', objects, '--check']).status, 0, 'the object still holds its content')
  assert.equal(strata(home, ['stamp', tree, '--objects', objects, '--undo']).status, 0)
  assert.ok(readFileSync(join(tree, 'd', 'f')).equals(data))
  for (const [dir, objs] of [[tree, tree], [join(tree, 'd'), tree]]) {
    const r = strata(home, ['stamp', dir, '--objects', objs])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /^strata: .* is inside the object directory .* — give --objects a directory that is neither the tree nor above it\n$/)
  }
  assert.ok(readFileSync(join(tree, 'd', 'f')).equals(data), 'refused: nothing changed')
})
