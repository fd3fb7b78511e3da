// The native store path (native/object.c, create.c): objects named by the
// digest `fsverity digest` prints, written sparse, never replaced, whether a
// file is copied whole or streamed in pieces; stubs made through one descriptor;
// an import's walk, a directory per call (scan.c).
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync} from 'node:fs'
import {randomBytes} from 'node:crypto'
import {join} from 'node:path'
import {sys} from '../dist/src/sys.js'
import {ObjectStore} from '../dist/src/store/objects.js'
import {inodeOf} from '../dist/src/store/digest-cache.js'
import {tmp} from './helpers.js'

const B = 4096
const fsverity = (f) => {
  const r = spawnSync('fsverity', ['digest', '--compact', f], {encoding: 'utf8'})
  assert.equal(r.status, 0, r.stderr)
  return r.stdout.trim()
}
function store() {
  const d = tmp('strata-native-')
  mkdirSync(join(d, 'tmp'))
  mkdirSync(join(d, 'objects'))
  return {d, tmp: join(d, 'tmp'), objects: join(d, 'objects'), store: new ObjectStore(join(d, 'objects'), join(d, 'tmp'))}
}
/** The addon's streamed writer as the ingest worker drives it (src/store/ingest-worker.ts): open, write in pieces, finish or abort. */
function writer(s) {
  const w = sys.objectOpen(s.tmp)
  return {
    write: (chunk) => sys.objectWrite(w, chunk),
    finish: () => {
      const [digest, size, stored, alias] = sys.objectFinish(w, s.objects, s.store.aliasMin)
      return {digest, size, stored, alias}
    },
    abort: () => sys.objectAbort(w),
  }
}
// data with a hole in the middle and one at the end, where the size allows
const HOLE = 16 * B
const content = (size) => (size > 3 * B + HOLE ? Buffer.concat([randomBytes(B), Buffer.alloc(HOLE), randomBytes(size - 2 * B - HOLE), Buffer.alloc(B)]) : randomBytes(size))

test('storeFile and streamed writers store what fsverity names, sparse, once', () => {
  const s = store()
  for (const size of [0, 1, B - 1, B, B + 1, 128 * B, 128 * B + 1, 128 * 128 * B + 1, 3 << 20]) {
    const data = content(size)
    const f = join(s.d, `f${size}`)
    writeFileSync(f, data)
    const want = fsverity(f)

    const [digest, n, stored, alias] = sys.storeFile(f, s.tmp, s.objects)
    assert.deepEqual([digest, n, stored, alias], [want, size, true, 0], `size ${size}`)
    const obj = s.store.path(digest)
    assert.ok(readFileSync(obj).equals(data), `size ${size}: content`)
    const st = lstatSync(obj)
    assert.equal(st.mode & 0o777, 0o444)
    // the holes are block-aligned whatever the size; blocks count the extent tree's too (a file
    // written back in many pieces, under load, has a few), so only most of the holes is checked
    if (size > 3 * B + HOLE) assert.ok(st.blocks * 512 <= Math.ceil(size / B) * B - HOLE / 2, `size ${size}: holes kept (${st.blocks * 512} bytes allocated)`)

    // the same content again: named, not stored; hashing only: the same digest
    assert.deepEqual(sys.storeFile(f, s.tmp, s.objects), [want, size, false, 0])
    assert.deepEqual(sys.storeFile(f, null, null), [want, size, false, 0])
    // asked for, the alias: objects/ab/<20 hex>, the same inode
    assert.deepEqual(sys.storeFile(f, s.tmp, s.objects, 20), [want, size, false, 20])
    assert.equal(lstatSync(join(s.objects, want.slice(0, 2), want.slice(2, 22))).ino, st.ino)

    // streamed in odd pieces into a fresh store: the same object
    const t = store()
    const w = writer(t)
    for (let off = 0; off < size; off += 7919) w.write(data.subarray(off, off + 7919))
    assert.deepEqual(w.finish(), {digest: want, size, stored: true, alias: 20}, `size ${size}, streamed`)
    assert.ok(readFileSync(t.store.path(want)).equals(data))
    // streamed into the store that has it: named, not stored
    const again = writer(s)
    again.write(data)
    assert.deepEqual(again.finish(), {digest: want, size, stored: false, alias: 20})
  }
  assert.deepEqual(readdirSync(s.tmp), [], 'unnamed files leave no names behind')
})

test('an aborted or finished writer stores nothing more and refuses more writes', () => {
  const s = store()
  const w = writer(s)
  w.write(randomBytes(10000))
  w.abort()
  assert.deepEqual(readdirSync(s.objects), [])
  assert.throws(() => w.write(Buffer.from('x')), /not an open object writer/)
  const v = writer(s)
  v.write(Buffer.from('hello'))
  v.finish()
  assert.throws(() => v.finish(), /not an open object writer/)
})

test('storeFile names a missing source like node does', () => {
  const s = store()
  assert.throws(() => sys.storeFile(join(s.d, 'absent'), s.tmp, s.objects), (e) => e.code === 'ENOENT' && e.syscall === 'open')
})

test('createFile makes a sized file with xattrs, mode and nanosecond times, never replacing nor following', () => {
  const d = tmp('strata-native-')
  const p = join(d, 'stub')
  const {uid, gid} = lstatSync(d)
  const squashed = sys.createFile(p, 123456, uid, gid, 0o4755, 1_000_000_001n, 1_700_000_000_123456789n, [
    ['user.a', Buffer.from('one')],
    ['user.b', Buffer.alloc(0)],
  ])
  assert.equal(squashed, false)
  const st = lstatSync(p, {bigint: true})
  assert.equal(st.size, 123456n)
  assert.equal(st.blocks, 0n, 'sparse')
  assert.equal(Number(st.mode) & 0o7777, 0o4755)
  assert.equal(st.mtimeNs, 1_700_000_000_123456789n)
  assert.equal(st.atimeNs, 1_000_000_001n)
  assert.equal(sys.getxattr(p, 'user.a').toString(), 'one')
  assert.equal(sys.getxattr(p, 'user.b').length, 0)
  assert.throws(() => sys.createFile(p, 0, uid, gid, 0o644, 0n, 0n, []), (e) => e.code === 'EEXIST')
  symlinkSync(join(d, 'elsewhere'), join(d, 'link'))
  assert.throws(() => sys.createFile(join(d, 'link'), 0, uid, gid, 0o644, 0n, 0n, []), (e) => e.code === 'EEXIST')
  assert.throws(() => lstatSync(join(d, 'elsewhere')), /ENOENT/)
})

test('copySparse copies content exactly, holes kept, never replacing', () => {
  const d = tmp('strata-native-')
  const data = Buffer.concat([randomBytes(B), Buffer.alloc(8 * B), randomBytes(100), Buffer.alloc(4 * B)])
  writeFileSync(join(d, 'src'), data)
  sys.copySparse(join(d, 'src'), join(d, 'dst'))
  assert.ok(readFileSync(join(d, 'dst')).equals(data))
  const st = lstatSync(join(d, 'dst'))
  assert.equal(st.size, data.length)
  assert.ok(st.blocks * 512 <= 3 * B, `holes kept (${st.blocks * 512} bytes allocated)`)
  assert.equal(st.mode & 0o777, 0o600)
  assert.throws(() => sys.copySparse(join(d, 'src'), join(d, 'dst')), (e) => e.code === 'EEXIST')
})

test('scanDir (and scanEntry) give each entry as lstat sees it, its user.* xattrs and a symlink target, in one call', () => {
  const d = tmp('strata-native-')
  const odd = Buffer.from([0x6e, 0xff, 0x0a, 0x3a]) // not UTF-8, a newline and a colon
  writeFileSync(join(d, 'file'), 'content')
  sys.setxattr(join(d, 'file'), 'user.b', Buffer.from('two'))
  sys.setxattr(join(d, 'file'), 'user.a', Buffer.alloc(0))
  linkSync(join(d, 'file'), join(d, 'hard'))
  mkdirSync(join(d, 'dir'))
  sys.setxattr(join(d, 'dir'), 'user.d', Buffer.from('dir'))
  symlinkSync('../somewhere/else', join(d, 'link'))
  sys.mknod(join(d, 'fifo'), 0o10644, 0, 0)
  writeFileSync(Buffer.concat([Buffer.from(d + '/'), odd]), '')

  const entries = sys.scanDir(d)
  const byName = new Map(entries.map((e) => [e[0].toString('hex'), e]))
  assert.deepEqual([...byName.keys()].sort(), ['dir', 'fifo', 'file', 'hard', 'link', odd].map((n) => Buffer.from(n).toString('hex')).sort())
  for (const [hex, [name, mode, uid, gid, size, nlink, rdev, atimeNs, mtimeNs, ident, xattrs, target]] of byName) {
    const st = lstatSync(Buffer.concat([Buffer.from(d + '/'), Buffer.from(hex, 'hex')]), {bigint: true})
    assert.equal(name.toString('hex'), hex)
    assert.deepEqual([mode, uid, gid, size, nlink, rdev, mtimeNs], [Number(st.mode), Number(st.uid), Number(st.gid), Number(st.size), Number(st.nlink), Number(st.rdev), st.mtimeNs])
    assert.ok(atimeNs <= st.atimeNs)
    assert.equal(ident, `${st.dev}:${st.ino} ${st.mode} ${st.uid}:${st.gid} ${st.size} ${st.nlink} ${st.rdev} ${st.mtimeNs} ${st.ctimeNs}`)
    assert.equal(inodeOf(ident), `${st.dev}:${st.ino}`)
    assert.equal(target?.toString() ?? null, st.isSymbolicLink() ? '../somewhere/else' : null)
    const own = xattrs?.map(([n, v]) => `${n}=${v}`).sort() ?? null
    const want = {file: ['user.a=', 'user.b=two'], hard: ['user.a=', 'user.b=two'], dir: ['user.d=dir']}[Buffer.from(hex, 'hex').toString()] ?? null
    assert.deepEqual(own, want, Buffer.from(hex, 'hex').toString())
  }
  // a walk's root: the same fields for a path itself
  const [name, ...rest] = sys.scanEntry(join(d, 'dir'))
  assert.equal(name.toString(), join(d, 'dir'))
  assert.deepEqual(rest, byName.get(Buffer.from('dir').toString('hex')).slice(1))
  assert.throws(() => sys.scanEntry(join(d, 'missing')), (e) => e.code === 'ENOENT' && e.syscall === 'lstat' && e.path.toString() === join(d, 'missing'))
  assert.throws(() => sys.scanDir(join(d, 'missing')), (e) => e.code === 'ENOENT' && e.syscall === 'scandir' && e.path.toString() === join(d, 'missing') && e.message.includes(join(d, 'missing')))
  assert.throws(() => sys.scanDir(join(d, 'file')), (e) => e.code === 'ENOTDIR')
})

test('objectAlias: the shortest alias no other object holds, never replacing one', () => {
  const s = store()
  // two contents whose digests share their first three hex digits (found by trying)
  const seen = new Map()
  let pair
  for (let i = 0; !pair; i++) {
    const f = join(s.d, `c${i}`)
    writeFileSync(f, `content ${i}`)
    const [d] = sys.storeFile(f, s.tmp, s.objects)
    const other = seen.get(d.slice(0, 3))
    if (other) pair = [other, d]
    seen.set(d.slice(0, 3), d)
  }
  const [x, y] = pair
  const ino = (d) => lstatSync(join(s.objects, d.slice(0, 2), d.slice(2))).ino
  const at = (d, n) => join(s.objects, d.slice(0, 2), d.slice(2, 2 + n))
  assert.equal(sys.objectAlias(s.objects, x, 1), 1)
  assert.equal(sys.objectAlias(s.objects, y, 1), 2, 'the one-digit name is taken: a longer one')
  assert.equal(sys.objectAlias(s.objects, y, 1), 2, 'found again, not made again')
  assert.equal(sys.objectAlias(s.objects, x, 1), 1)
  assert.equal(lstatSync(at(x, 1)).ino, ino(x))
  assert.equal(lstatSync(at(y, 2)).ino, ino(y))
  // a name held by something that is not the object (a stray file) is passed over too
  const z = [...seen.values()].find((d) => d !== x && d !== y)
  writeFileSync(at(z, 4), 'not the object')
  assert.equal(sys.objectAlias(s.objects, z, 4), 5)
  assert.equal(readFileSync(at(z, 4), 'utf8'), 'not the object', 'never replaced')
  assert.throws(() => sys.objectAlias(s.objects, 'ab'.repeat(32), 20), (e) => e.code === 'ENOENT')
})
