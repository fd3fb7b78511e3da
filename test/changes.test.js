// strata diff, commit and reset: every form of change an upper holds, read
// entry by entry; a commit keeps the merged view and empties the upper; the
// fuse-overlayfs form of an upper commits to the same layer as the kernel's.
import {test, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {randomBytes} from 'node:crypto'
import {join} from 'node:path'
import {bin, cleanHome, inNs, listing, newHome, root, strata, tmp} from './helpers.js'

let home, src
const scanJs = join(root, 'test', 'fixtures', 'scan.js')
const upperOf = (stack) => join(home, 'stacks', stack, 'upper')
/** What an upper holds, its root aside. */
const inUpper = (stack) => listing(upperOf(stack)).filter((l) => !l.startsWith(' '))

function ok(args) {
  const r = strata(home, args)
  assert.equal(r.status, 0, `strata ${args.join(' ')}: exit ${r.status}\n${r.stdout}${r.stderr}`)
  return r
}
const json = (args) => ok([...args, '--json']).json
const sh = (stack, script) => ok(['run', stack, '--', 'sh', '-c', `set -e; ${script}`])

/** The merged view, entry by entry (inode numbers aside: a commit gives files new ones). */
function scan(stack) {
  return sh(stack, `node ${scanJs} .`)
    .stdout.split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .map(({ino, ...e}) => e)
}

before(() => {
  home = newHome()
  src = tmp('strata-changes-src-')
  const f = (p, content) => {
    mkdirSync(join(src, p, '..'), {recursive: true})
    writeFileSync(join(src, p), content)
  }
  f('etc/a', 'hello\n')
  f('etc/big', randomBytes(5000)) // a stub
  f('etc/keep', 'to be deleted\n')
  f('etc/same', 'opened for writing, never written\n')
  f('etc/mtime', randomBytes(5000)) // rewritten, its mtime put back
  f('etc/small-mtime', 'rewritten, its mtime put back\n')
  f('etc/xattr', 'its xattr changes\n')
  f('var/cache/x/c', 'hidden by an opaque dir\n')
  f('var/log/l', 'stays\n')
  f('d/old', 'renamed over victim\n')
  f('d/victim', 'replaced\n')
  inNs(['setfattr', '-n', 'user.note', '-v', 'original', join(src, 'etc/xattr')])
  ok(['import', src, '--name', 'base'])
  ok(['stack', 'create', 'dev', 'base'])
  ok(['stack', 'create', 'fuse', 'base', '--backend', 'fuse'])
  ok(['stack', 'create', 'realfuse', 'base', '--backend', 'fuse'])
})
after(() => {
  strata(home, ['umount', 'dev'])
  cleanHome(home)
})

// what the script below changes, as diff lists it (byte order, parents first)
const expected = [
  ['/', 'changed', 'dir'],
  ['/bad\ufffdname', 'added', 'file', '2f626164ff6e616d65'],
  ['/d', 'changed', 'dir'],
  ['/d/old', 'deleted', 'file'],
  ['/d/victim', 'changed', 'file'],
  ['/etc', 'changed', 'dir'],
  ['/etc/a', 'changed', 'file'],
  ['/etc/big', 'changed', 'file'],
  ['/etc/fifo', 'added', 'fifo'],
  ['/etc/keep', 'deleted', 'file'],
  ['/etc/link', 'added', 'symlink'],
  ['/etc/mtime', 'changed', 'file'],
  ['/etc/new', 'added', 'file'],
  ['/etc/new-link', 'added', 'file'],
  ['/etc/newbig', 'added', 'file'],
  ['/etc/ovl', 'added', 'file'],
  ['/etc/small-mtime', 'changed', 'file'],
  ['/etc/xattr', 'changed', 'file'],
  ['/newdir', 'added', 'dir'],
  ['/newdir/sub', 'added', 'dir'],
  ['/newdir/sub/z', 'added', 'file'],
  ['/var', 'changed', 'dir'],
  ['/var/cache', 'opaque', 'dir'],
  ['/var/cache/n', 'added', 'file'],
].map(([path, kind, type, pathHex]) => (pathHex ? {path, pathHex, kind, type} : {path, kind, type}))

const changeScript = [
  'echo new > etc/new',
  'ln etc/new etc/new-link',
  "head -c 3000 /dev/zero | tr '\\000' x > etc/newbig",
  'echo more >> etc/a',
  'chmod 600 etc/big',
  ': >> etc/same', // a copy-up that changes nothing
  't=$(stat -c %y etc/mtime); printf XXXX | dd of=etc/mtime conv=notrunc status=none; touch -d "$t" etc/mtime',
  't=$(stat -c %y etc/small-mtime); printf XXXX | dd of=etc/small-mtime conv=notrunc status=none; touch -d "$t" etc/small-mtime',
  'setfattr -n user.note -v changed etc/xattr',
  'echo own > etc/ovl; setfattr -n user.overlay.mine -v kept etc/ovl', // a file's own user.overlay.* xattr: escaped in the upper
  'rm etc/keep',
  'rm -rf var/cache; mkdir var/cache; echo n > var/cache/n',
  'mv d/old d/victim',
  'ln -s a etc/link',
  'mkdir -p newdir/sub; echo z > newdir/sub/z',
  'mkfifo etc/fifo',
  'touch "$(printf \'bad\\377name\')"',
].join('; ')

let before1, kernelLayer
test('diff lists every kind of change, human and --json', () => {
  sh('dev', changeScript)
  // the copy-up that changed nothing is in the upper, yet no change
  assert.ok(inUpper('dev').some((l) => l.startsWith('etc/same f')), 'etc/same was copied up')
  assert.ok(inUpper('dev').some((l) => l.startsWith('var/cache d')))
  const d = json(['diff', 'dev'])
  assert.equal(d.stack, 'dev')
  assert.deepEqual(d.changes, expected)
  const human = ok(['diff', 'dev']).stdout.split('\n').filter(Boolean)
  const letter = {added: 'A', changed: 'C', deleted: 'D', opaque: 'O'}
  assert.deepEqual(
    human,
    expected.map((c) => `${letter[c.kind]} ${c.pathHex ? '"/bad\\xffname"' : c.path + (c.type === 'dir' && c.path !== '/' ? '/' : '')}`),
  )
  // the escaped own xattr is the file's, not overlay structure
  const ovl = scan('dev').find((e) => e.path === Buffer.from('etc/ovl').toString('hex'))
  assert.deepEqual(ovl.xattrs, {'user.overlay.mine': Buffer.from('kept').toString('hex')})
})

test('a fuse-overlayfs form of the same upper (.wh. files, .wh..wh..opq) reads the same', () => {
  // the same upper, rewritten in fuse-overlayfs's forms, as the fuse stack's
  inNs(['sh', '-c', 'rm -rf "$2" && cp -a "$1" "$2"', 'sh', upperOf('dev'), upperOf('fuse')])
  inNs([process.execPath, join(root, 'test', 'fixtures', 'fuse-upper.js'), upperOf('fuse')])
  const l = listing(upperOf('fuse'))
  assert.ok(l.includes('etc/.wh.keep f 0') && l.includes('var/cache/.wh..wh..opq f 0'), l.join('\n'))
  assert.ok(!l.some((x) => / c /.test(x)), 'no 0/0 devices left')
  assert.equal(inNs(['getfattr', '--only-values', '-n', 'user.overlay.mine', join(upperOf('fuse'), 'etc/ovl')]).stdout.toString(), 'kept')
  assert.deepEqual(json(['diff', 'fuse']).changes, expected)
})

test('commit: a new layer on top, the same merged view, an empty upper, a sound store', () => {
  before1 = scan('dev')
  const c = json(['commit', 'dev', '--name', 'dev-1'])
  assert.equal(c.stack, 'dev')
  assert.equal(c.changes, expected.length)
  assert.match(c.layer.id, /^[0-9a-f]{64}$/)
  assert.deepEqual(c.layer.names, ['dev-1'])
  assert.equal(c.layer.source.kind, 'commit')
  assert.equal(c.layer.counts.whiteouts, 2) // etc/keep, d/old; var/cache/x is hidden by the opaque dir, not whited out
  assert.equal(c.layer.counts.hardlinks, 1)
  kernelLayer = c.layer.id
  const s = json(['stack', 'inspect', 'dev'])
  assert.equal(s.layers.length, 2)
  assert.equal(s.layers[0], kernelLayer)
  assert.deepEqual(inUpper('dev'), [])
  assert.deepEqual(listing(join(home, 'stacks', 'dev', 'work')).filter((l) => !l.startsWith(' ')), [])
  assert.deepEqual(json(['diff', 'dev']).changes, [])
  const after1 = scan('dev')
  assert.deepEqual(after1, before1)
  // hardlinks stay hardlinked
  const names = Object.fromEntries(sh('dev', 'stat -c "%n %i" etc/new etc/new-link').stdout.trim().split('\n').map((l) => l.split(' ')))
  assert.equal(names['etc/new'], names['etc/new-link'])
  const chk = strata(home, ['check', '--json'])
  assert.equal(chk.status, 0, chk.stdout)
  assert.equal(chk.json.ok, true)
  assert.deepEqual(chk.json.problems, [])
  // the layer itself: whiteouts as 0/0 devices, the opaque dir marked
  const tree = join(home, 'layers', kernelLayer, 'tree')
  const t = listing(tree)
  assert.ok(t.includes('etc/keep c 0') && t.includes('d/old c 0'), t.join('\n'))
  assert.ok(!t.some((x) => x.startsWith('etc/same ')), 'an unchanged copy-up is left out')
  assert.ok(!t.some((x) => x.startsWith('var/log')), 'directories without changes are left out')
  assert.equal(inNs(['getfattr', '--only-values', '-n', 'user.overlay.opaque', join(tree, 'var/cache')]).stdout.toString(), 'y')
})

test('the fuse form of the upper commits to the same layer as the kernel form', () => {
  const c = json(['commit', 'fuse'])
  assert.equal(c.changes, expected.length)
  assert.equal(c.layer.id, kernelLayer)
  assert.deepEqual(json(['stack', 'inspect', 'fuse']).layers, json(['stack', 'inspect', 'dev']).layers)
  // fuse-overlayfs shows no user.overlay.* xattrs at all (a limit of that backend, not of the layer)
  const noOverlayXattrs = (entries) =>
    entries.map((e) => (e.xattrs ? {...e, xattrs: Object.fromEntries(Object.entries(e.xattrs).filter(([k]) => !k.startsWith('user.overlay.')))} : e))
  assert.deepEqual(scan('fuse'), noOverlayXattrs(before1))
})

test('an upper written by fuse-overlayfs itself: the same changes, and a commit keeps its merged view', () => {
  sh('realfuse', changeScript)
  assert.deepEqual(json(['diff', 'realfuse']).changes, expected)
  const view = scan('realfuse')
  const c = json(['commit', 'realfuse'])
  assert.equal(c.changes, expected.length)
  assert.deepEqual(json(['diff', 'realfuse']).changes, [])
  assert.deepEqual(inUpper('realfuse'), [])
  assert.deepEqual(scan('realfuse'), view)
})

test('commit with no changes says so and makes no layer', () => {
  const c = json(['commit', 'dev'])
  assert.deepEqual(c, {stack: 'dev', layer: null, changes: 0})
  assert.match(ok(['commit', 'dev']).stdout, /nothing to commit/)
  assert.equal(json(['stack', 'inspect', 'dev']).layers.length, 2)
})

test('reset discards the changes', () => {
  sh('dev', 'echo gone > etc/a; rm etc/new; mkdir tmpdir')
  const n = json(['diff', 'dev']).changes.length
  assert.deepEqual(json(['diff', 'dev']).changes.map((c) => c.path), ['/', '/etc', '/etc/a', '/etc/new', '/tmpdir'])
  assert.deepEqual(json(['reset', 'dev']), {stack: 'dev', discarded: n})
  assert.deepEqual(json(['diff', 'dev']).changes, [])
  assert.deepEqual(inUpper('dev'), [])
  assert.deepEqual(scan('dev'), before1)
  assert.match(ok(['reset', 'dev']).stdout, /discarded 0 changes of dev/)
})

test('unknown stacks are not found (3); a bad layer name is a usage error (2)', () => {
  for (const cmd of ['diff', 'commit', 'reset']) {
    const r = strata(home, [cmd, 'nosuch'])
    assert.equal(r.status, 3, `${cmd}: ${r.stderr}`)
    assert.match(r.stderr, /no stack named 'nosuch'/)
  }
  const r = strata(home, ['commit', 'dev', '--name', 'bad name'])
  assert.equal(r.status, 2)
  assert.match(r.stderr, /invalid layer name/)
})

test('a mounted stack: diff reads it; commit and reset refuse (4) unless --force stops the session', () => {
  ok(['mount', 'dev'])
  ok(['exec', 'dev', '--', 'sh', '-c', 'echo m > mounted'])
  assert.deepEqual(json(['diff', 'dev']).changes.map((c) => [c.path, c.kind]), [['/', 'changed'], ['/mounted', 'added']])
  for (const cmd of ['commit', 'reset']) {
    const r = strata(home, [cmd, 'dev'])
    assert.equal(r.status, 4, `${cmd}: ${r.stderr}`)
    assert.match(r.stderr, /stack 'dev' is mounted \(session pid \d+\).*--force/)
  }
  assert.equal(json(['ps']).sessions.length, 1, 'refusing left the session alone')
  const c = json(['commit', 'dev', '--force'])
  assert.equal(c.changes, 2)
  assert.deepEqual(json(['ps']).sessions, [])
  assert.equal(sh('dev', 'cat mounted').stdout, 'm\n')
  // reset --force too
  ok(['mount', 'dev'])
  ok(['exec', 'dev', '--', 'sh', '-c', 'rm mounted'])
  assert.deepEqual(json(['reset', 'dev', '--force']), {stack: 'dev', discarded: 2})
  assert.deepEqual(json(['ps']).sessions, [])
  assert.equal(sh('dev', 'cat mounted').stdout, 'm\n')
})

test('commit and reset wait for no run: a stack in use by `strata run` refuses them (4)', async (t) => {
  const {spawn} = await import('node:child_process')
  const home = newHome()
  t.after(() => cleanHome(home))
  const src = tmp('strata-changes-src-')
  writeFileSync(join(src, 'f'), 'x'.repeat(100))
  assert.equal(strata(home, ['import', src, '--name', 'l']).status, 0)
  assert.equal(strata(home, ['stack', 'create', 's', 'l']).status, 0)
  // the run's command holds on until the test lets it go (a fifo), however slow this machine is
  const go = join(tmp('strata-changes-fifo-'), 'go')
  execFileSync('mkfifo', [go])
  const run = spawn(process.execPath, [bin, 'run', 's', '--', 'sh', '-c', 'echo started; echo w > written; cat "$0" > /dev/null', go], {env: {...process.env, STRATA_HOME: home}, stdio: ['ignore', 'pipe', 'inherit']})
  await new Promise((r) => run.stdout.once('data', r))
  for (const cmd of ['commit', 'reset']) {
    const r = strata(home, [cmd, 's'])
    assert.equal(r.status, 4, r.stderr)
    assert.match(r.stderr, /stack 's' is in use \(a run, commit or reset is going on\): pid \d+ \(strata run s -- sh -c /, 'strata-ns holds the run\'s lock, named by the strata command behind it')
  }
  const exited = new Promise((r) => run.on('exit', r))
  writeFileSync(go, '')
  await exited
  const c = strata(home, ['commit', 's', '--json'])
  assert.equal(c.status, 0, c.stderr)
  assert.ok(c.json.layer)

  // the other way: a stack held exclusive (as commit, reset and stack rm hold it) refuses a run, plain or --root, before its command
  // (-o: flock alone holds it, so that killing flock lets it go)
  const held = spawn('flock', ['-x', '-o', join(home, 'stacks', 's'), 'sh', '-c', 'echo held; exec sleep 30'], {stdio: ['ignore', 'pipe', 'inherit']})
  t.after(() => held.kill())
  await new Promise((r) => held.stdout.once('data', r))
  for (const args of [['run', 's', '--', 'touch', 'ran'], ['run', '--root', 's', '--', 'touch', '/ran']]) {
    const r = strata(home, args)
    assert.equal(r.status, 4, r.stderr)
    assert.match(r.stderr, /^strata: stack 's' is being committed, reset or removed: pid \d+ \(flock -x -o /, args.join(' '))
  }
  const released = new Promise((r) => held.on('exit', r))
  held.kill()
  await released
  assert.deepEqual(strata(home, ['diff', 's', '--json']).json.changes, [], 'no command ran')
})
