// Which native code serves (scripts/native.cjs): a prebuild only while native/
// and binding.gyp are what it was made from. The hash of the sources is kept
// with their stat (dist/native-sources.json) so that starts need not hash
// them; these check that the kept hash never hides an edit, even one that
// keeps a file's size and mtime, and that it is what serves while nothing changed.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {cpSync, existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {join} from 'node:path'
import {root, tmp} from './helpers.js'

const native = createRequire(import.meta.url)('../scripts/native.cjs')
const settle = () => new Promise((r) => setTimeout(r, 1100)) // a stat is kept once every source is a second old

/** a package directory with this one's native sources and prebuilds, the prebuilds' manifest naming these sources, and no build/ */
function pkg() {
  const dir = tmp('strata-native-choice-')
  for (const p of ['binding.gyp', 'native', 'prebuilds']) cpSync(join(root, p), join(dir, p), {recursive: true})
  mkdirSync(join(dir, 'dist'))
  // made from these sources (whether or not this checkout's prebuilds are current: that is not what this tests)
  const manifest = join(dir, 'prebuilds', 'manifest.json')
  writeFileSync(manifest, JSON.stringify({...JSON.parse(readFileSync(manifest, 'utf8')), sources: native.sourcesHash(dir)}))
  return dir
}

test('the prebuild serves while the sources are unchanged, from the kept hash; any edit turns it away', async () => {
  const dir = pkg()
  const stamp = join(dir, 'dist', 'native-sources.json')
  const sys = () => native.locate('strata_sys.node', dir)
  // a whole-second mtime, which utimes can put back exactly after the edit below
  const file = join(dir, 'native', 'sys.c')
  const when = new Date('2026-01-01T00:00:00Z')
  utimesSync(file, when, when)

  // just copied: the sources are hashed, and their stat not kept yet (an edit in the same clock tick could keep it)
  assert.equal(sys().from, 'prebuild')
  assert.ok(!existsSync(stamp))
  await settle()
  assert.equal(sys().from, 'prebuild')
  const kept = JSON.parse(readFileSync(stamp, 'utf8'))
  assert.deepEqual(kept, {stat: native.sourcesStat(dir), sources: native.sourcesHash(dir)})

  // while the stat matches, the kept hash is what decides (no hashing): a kept hash that differs turns the prebuild away
  writeFileSync(stamp, JSON.stringify({...kept, sources: '0'.repeat(64)}))
  assert.match(sys().why, /native\/ changed/)
  writeFileSync(stamp, JSON.stringify(kept))
  assert.equal(sys().from, 'prebuild')

  // an edit that keeps the file's size and puts its mtime back: its ctime moves, the sources are hashed again
  const before = statSync(file, {bigint: true})
  const text = readFileSync(file, 'utf8')
  const edited = text.replace('NAPI_MODULE(', 'NAPI_MODULE (').replace('\n\n', '\n')
  assert.equal(BigInt(Buffer.byteLength(edited)), before.size)
  writeFileSync(file, edited)
  utimesSync(file, when, when)
  const after = statSync(file, {bigint: true})
  assert.deepEqual([after.size, after.mtimeNs, after.ino], [before.size, before.mtimeNs, before.ino], 'the same size, mtime and inode')
  const r = sys()
  assert.equal(r.from, null, 'no prebuild, and no build/Release in this package')
  assert.match(r.why, /native\/ changed since the prebuilds were made/)

  // put back as it was: the prebuild again; a new file under native/ turns it away too
  writeFileSync(file, text)
  assert.equal(sys().from, 'prebuild')
  writeFileSync(join(dir, 'native', 'extra.h'), '/* new */\n')
  assert.match(sys().why, /native\/ changed/)
})
