// Mount option strings: escaping the kernel's separators, and the length
// limit util-linux's mount(2) would otherwise cut silently.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {overlayOptions, escapePath, OPTION_LIMIT} from '../dist/src/runtime/overlay-options.js'
import {encodeMetacopy, decodeMetacopy, encodeRedirect, decodeRedirect, escapeName, unescapeName} from '../dist/src/format/xattrs.js'
import {strata, newHome, cleanHome, tmp} from './helpers.js'

test('paths escape backslash, comma and colon', () => {
  assert.equal(escapePath('a\\b,c:d'), 'a\\\\b\\,c\\:d')
  assert.equal(
    overlayOptions({lower: ['l:1', 'l,2'], dataOnly: ['objects'], upper: 'u\\p', work: 'w'}),
    'lowerdir=l\\:1:l\\,2::objects,upperdir=u\\\\p,workdir=w,userxattr',
  )
})

test('an option string over the limit fails loudly, with exit code 5', () => {
  const long = 'x'.repeat(OPTION_LIMIT)
  assert.throws(() => overlayOptions({lower: [long]}), (e) => e.exit === 5 && /4095-byte limit/.test(e.message))
})

test('metacopy and redirect forms', () => {
  const d = 'ab'.repeat(32)
  const m = encodeMetacopy(d)
  assert.equal(m.length, 36)
  assert.deepEqual([...m.subarray(0, 4)], [0, 0x24, 0, 1])
  assert.equal(decodeMetacopy(m), d)
  assert.equal(decodeMetacopy(Buffer.alloc(0)), null)
  assert.equal(encodeRedirect(d).toString(), `/ab/${d.slice(2)}`)
  assert.equal(decodeRedirect(encodeRedirect(d)), d)
  assert.equal(decodeRedirect(Buffer.from('../ab')), null)
})

test("a file's own xattr names: user.overlay.* escaped once, and back", () => {
  for (const [own, stored] of [['user.overlay.redirect', 'user.overlay.overlay.redirect'], ['user.overlay.overlay.x', 'user.overlay.overlay.overlay.x'], ['user.mime', 'user.mime'], ['security.capability', 'security.capability']]) {
    assert.equal(escapeName(own), stored)
    assert.equal(unescapeName(stored), own)
  }
})

test('a stack whose name holds : , and \\ mounts and runs', async (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  const src = tmp('strata-src-')
  writeFileSync(join(src, 'hello'), 'hello from a stub, which is more than sixty-four bytes long for sure\n')
  assert.equal(strata(home, ['import', src, '--name', 'l']).status, 0)
  const name = 'we:ird,na\\me x'
  const c = strata(home, ['stack', 'create', name, 'l'])
  assert.equal(c.status, 0, c.stderr)
  const r = strata(home, ['run', name, '--', 'sh', '-c', 'cat hello && echo written > new'], {env: {DEBUG: 'strata:mount'}})
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, 'hello from a stub, which is more than sixty-four bytes long for sure\n')
  assert.match(r.stderr, /upperdir=stacks\/we\\:ird\\,na\\\\me x\/upper/, 'the traced option string is escaped')
  assert.equal(strata(home, ['run', name, '--', 'cat', 'new']).stdout, 'written\n')
  // as shells say it: 127 not found, 126 found but not runnable
  const missing = strata(home, ['run', name, '--', 'nosuchcommand'], {env: {PATH: '/usr/bin:/bin'}})
  assert.deepEqual([missing.status, missing.stderr], [127, 'strata: nosuchcommand: command not found\n'])
  const closed = strata(home, ['run', name, '--', './new'])
  assert.equal(closed.status, 126)
  assert.match(closed.stderr, /^strata: \.\/new: permission denied \(not executable/)
})
