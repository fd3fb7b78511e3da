// Tar imports: GNU tar's own archives (PAX with xattrs and ns mtimes, GNU
// format, sparse files, gzip, zstd) must give exactly the layer a directory
// import gives; tar semantics (later duplicates win, hardlinks, implicit
// parents, OCI whiteouts, device nodes skipped and counted) hold.
import {test} from 'node:test'
import {spawn, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import assert from 'node:assert/strict'
import {closeSync, openSync, readFileSync, writeFileSync, renameSync, statSync, utimesSync} from 'node:fs'
import {join} from 'node:path'
import {strata, newHome, cleanHome, inNs, tmp, root, scratch, listing, bin} from './helpers.js'
import {tarOf} from './fixtures/tar.js'

const makeTree = join(root, 'test', 'fixtures', 'make-tree.js')

test('tar, tar.gz and tar.zst written by GNU tar give the directory import\'s layer id', async (t) => {
  const {home, work} = scratch(t, 'strata-tar-')
  const src = join(work, 'tree')
  inNs([process.execPath, makeTree, src])
  const pax = ['--xattrs', '--xattrs-include=user.*', '--format=pax', '--sparse', '-C', src]
  inNs(['tar', ...pax, '-cf', join(work, 'a.tar'), '.'], {allowFail: true}) // warns about the socket
  inNs(['tar', ...pax, '-czf', join(work, 'b.tar.gz'), '.'], {allowFail: true})
  inNs(['tar', ...pax, '--zstd', '-cf', join(work, 'c.tar.zst'), '.'], {allowFail: true})
  // the format comes from the content, not the name
  renameSync(join(work, 'b.tar.gz'), join(work, 'b.data'))
  renameSync(join(work, 'c.tar.zst'), join(work, 'c.tar'))

  const dir = strata(home, ['import', src, '--json'])
  assert.equal(dir.status, 0, dir.stderr)
  for (const [file, format] of [['a.tar', 'tar'], ['b.data', 'tar.gz'], ['c.tar', 'tar.zst']]) {
    const r = strata(home, ['import', join(work, file), '--json'])
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.json.format, format, file)
    assert.equal(r.json.layer.id, dir.json.layer.id, `${file}: same id as the directory import`)
    assert.equal(r.json.existing, true)
  }
  // a fresh store: the tar alone builds the same layer (and no progress on a pipe)
  const home2 = newHome()
  t.after(() => cleanHome(home2))
  const fresh = strata(home2, ['import', join(work, 'a.tar'), '--name', 'fromtar'])
  assert.equal(fresh.status, 0, fresh.stderr)
  assert.equal(fresh.stderr.includes('importing:'), false, 'no progress on a pipe')
  const info = strata(home2, ['layer', 'inspect', 'fromtar', '--json'])
  assert.equal(info.json.id, dir.json.layer.id)
  assert.equal(info.json.bytes.objectsAdded, dir.json.layer.bytes.objectsAdded)
})

test('GNU-format archives: old sparse entries and long names and link targets', async (t) => {
  const {home, work} = scratch(t, 'strata-tar-')
  const src = join(work, 'tree')
  inNs([process.execPath, makeTree, src])
  inNs(['tar', '--format=gnu', '--sparse', '-C', src, '-cf', join(work, 'gnu.tar'), '.'], {allowFail: true})
  // the archive really uses GNU sparse ('S') and long-name ('L') headers
  const list = inNs(['tar', '-tvvf', join(work, 'gnu.tar')]).stdout.toString()
  assert.match(list, /sparse-1g/)
  const raw = inNs(['head', '-c', '4000000', join(work, 'gnu.tar')]).stdout
  assert.ok(raw.includes(Buffer.from('././@LongLink')), 'GNU long names present')

  const dir = strata(home, ['import', src, '--json'])
  assert.equal(dir.status, 0, dir.stderr)
  const gnu = strata(home, ['import', join(work, 'gnu.tar'), '--json'])
  assert.equal(gnu.status, 0, gnu.stderr)
  assert.equal(gnu.json.layer.bytes.objectsAdded, 0, 'every file (the sparse 1 GiB one too) has the content of the directory import')
  assert.equal(gnu.json.layer.counts.entries, dir.json.layer.counts.entries)
  // the sparse object stays sparse on disk
  const objs = inNs(['find', join(home, 'objects'), '-type', 'f', '-regextype', 'posix-extended', '-regex', '.*/[0-9a-f]{62}', '-size', '+1000000k', '-printf', '%s %b\n']).stdout.toString().trim().split('\n')
  assert.equal(objs.length, 1)
  const [size, blocks] = objs[0].split(' ').map(Number)
  assert.equal(size, 1 << 30)
  assert.ok(blocks * 512 < 1 << 20, `the 1 GiB object uses ${blocks * 512} bytes`)
})

test('tar semantics: later duplicates win, hardlinks, implicit parents, whiteouts, opaque dirs, devices', async (t) => {
  const {home, work} = scratch(t, 'strata-tar-')
  const big = 'B'.repeat(5000)
  writeFileSync(
    join(work, 'sem.tar'),
    tarOf([
      {name: './', type: 'dir', mode: 0o751, mtimeNs: 1600000000123456789n},
      {name: 'a', data: 'first version of a'},
      {name: 'a', data: 'second version of a, which wins', mode: 0o600},
      {name: 'd/', type: 'dir', mode: 0o700},
      {name: 'd/f', data: big, uid: 1000, gid: 1000},
      {name: 'd/', type: 'dir', mode: 0o755, mtimeNs: 1500000000000000001n},
      {name: 'link-to-f', type: 'hardlink', linkname: 'd/f'},
      {name: 'deep/er/file', data: 'parents not listed'},
      {name: 'dev/null', type: 'chardev', devmajor: 1, devminor: 3},
      {name: 'dev/.wh.gone', data: ''},
      {name: 'o/.wh..wh..opq', data: ''},
      {name: 'o/kept', data: 'kept'},
      {name: 'replaced', type: 'dir'},
      {name: 'replaced/child', data: 'gone with its dir'},
      {name: 'replaced', type: 'symlink', linkname: 'a'},
      {name: 'x', data: 'xa', xattrs: [['user.k', Buffer.from([0, 255, 1])], ['security.selinux', Buffer.from('dropped')]]},
      // stored objects replaced or linked while their stubs may still be on the way
      {name: 'b', data: 'C'.repeat(3000)},
      {name: 'b', data: 'D'.repeat(4000)},
      {name: 'link-to-b', type: 'hardlink', linkname: 'b'},
      {name: 'r2/big', data: big},
      {name: 'r2', type: 'symlink', linkname: 'a'},
      {name: 'f2', data: big},
      {name: 'f2/', type: 'dir'},
    ]),
  )
  const r = strata(home, ['import', join(work, 'sem.tar'), '--name', 'sem', '--json'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.json.layer.skipped.devices, 1)
  assert.deepEqual(r.json.layer.skipped.paths, ['/dev/null'])
  const tree = join(home, 'layers', r.json.layer.id, 'tree')
  const ls = inNs(['find', tree, '-printf', '%P %y %m %U %n %T@\n']).stdout.toString().split('\n').filter(Boolean).sort()
  const byPath = Object.fromEntries(ls.map((l) => [l.split(' ')[0], l.split(' ').slice(1)]))
  assert.deepEqual(byPath[''].slice(0, 2), ['d', '751'])
  assert.equal(byPath[''][4], '1600000000.1234567890')
  assert.deepEqual(byPath['a'].slice(0, 2), ['f', '600'])
  assert.deepEqual(byPath['d'].slice(0, 2), ['d', '755'], 'the later dir entry gives the metadata')
  assert.equal(byPath['d/f'][2], '1000')
  assert.equal(byPath['d/f'][3], '2', 'd/f and link-to-f are one inode')
  assert.deepEqual(byPath['deep'].slice(0, 2), ['d', '755'])
  assert.deepEqual(byPath['dev/gone'].slice(0, 2), ['c', '644'], 'a whiteout, with the .wh. entry\'s metadata')
  assert.equal(byPath['dev/null'], undefined)
  assert.equal(byPath['replaced'][0], 'l')
  assert.equal(byPath['replaced/child'], undefined)
  assert.deepEqual([byPath['b'][0], byPath['b'][3]], ['f', '2'], 'b and link-to-b are one inode')
  assert.equal(byPath['r2'][0], 'l')
  assert.equal(byPath['r2/big'], undefined)
  assert.equal(byPath['f2'][0], 'd')
  const opq = inNs(['getfattr', '--absolute-names', '-n', 'user.overlay.opaque', '--only-values', join(tree, 'o')]).stdout.toString()
  assert.equal(opq, 'y')
  const xa = inNs(['getfattr', '--absolute-names', '-d', '-e', 'hex', '-m', '-', join(tree, 'x')]).stdout.toString()
  assert.match(xa, /user\.k=0x00ff01/)
  assert.doesNotMatch(xa, /selinux/)

  // the id the import computed from what it wrote (replacements and links included) is the tree's
  const check = strata(home, ['check', '--quick', '--json'])
  assert.equal(check.status, 0, check.stdout)
  assert.equal(strata(home, ['stack', 'create', 'sem', 'sem']).status, 0)
  const cat = strata(home, ['run', 'sem', '--', 'sh', '-c', 'cat a; echo; cat link-to-f | wc -c; cat o/kept; echo; tr -d D < link-to-b | wc -c; wc -c < b'])
  assert.equal(cat.status, 0, cat.stderr)
  assert.equal(cat.stdout, 'second version of a, which wins\n5000\nkept\n0\n4000\n')
})

test('an archive unchanged since its import is its layer at once; a rewritten one, or a layer missing objects, is read again', async (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  const work = tmp('strata-tar-')
  const entries = [{name: 'big', data: Buffer.alloc(5000, 'a')}, {name: 'small', data: Buffer.from('hi')}]
  const file = join(work, 'a.tar')
  writeFileSync(file, tarOf(entries))
  const first = strata(home, ['import', file, '--json'])
  assert.equal(first.status, 0, first.stderr)
  const again = strata(home, ['import', file, '--name', 'again', '--json'])
  assert.equal(again.status, 0, again.stderr)
  assert.equal(again.json.existing, true)
  assert.equal(again.json.layer.id, first.json.layer.id)
  assert.deepEqual(again.json.layer.names, ['again'])

  // the same size and mtime, other content: its ctime tells
  const {atime, mtime} = statSync(file)
  writeFileSync(file, tarOf([{name: 'big', data: Buffer.alloc(5000, 'b')}, entries[1]]))
  utimesSync(file, atime, mtime)
  const changed = strata(home, ['import', file, '--json'])
  assert.equal(changed.status, 0, changed.stderr)
  assert.notEqual(changed.json.layer.id, first.json.layer.id)
  assert.equal(changed.json.layer.bytes.objectsAdded, 1)

  // its object gone: imported again, which restores it
  inNs(['sh', '-c', 'rm -rf "$1"/*', 'sh', join(home, 'objects')])
  const restored = strata(home, ['import', file, '--json'])
  assert.equal(restored.status, 0, restored.stderr)
  assert.equal(restored.json.layer.id, changed.json.layer.id)
  assert.equal(strata(home, ['check', '--quick']).status, 6, 'the first layer still misses its object')
  assert.equal(strata(home, ['layer', 'rm', first.json.layer.id]).status, 0)
  assert.equal(strata(home, ['check', '--quick']).status, 0, 'the re-imported layer is whole')
})

test('a tar as /dev/stdin redirected from a file is that file; a pipe, a device, or a tag on a plain tar is refused, the store untouched', async (t) => {
  const {home, work} = scratch(t, 'strata-tar-')
  const file = join(work, 'small.tar')
  writeFileSync(file, tarOf([{name: 'hello', data: 'hello from stdin\n'}, {name: 'big', data: 'x'.repeat(5000)}]))
  const direct = strata(home, ['import', file, '--json'])
  assert.equal(direct.status, 0, direct.stderr)
  assert.equal(direct.json.layer.counts.entries, 3)
  const fd = openSync(file, 'r')
  t.after(() => closeSync(fd))
  // the namespace's process has its own stdin: it must be given the file, not /dev/stdin
  const redirected = strata(home, ['import', '/dev/stdin', '--name', 'from-stdin', '--json'], {stdin: fd})
  assert.equal(redirected.status, 0, redirected.stderr)
  assert.equal(redirected.json.layer.id, direct.json.layer.id)
  assert.equal(redirected.json.layer.source.path, file)

  const before = listing(home)
  const piped = spawnSync('sh', ['-c', 'cat "$1" | "$2" "$3" import /dev/stdin', 'sh', file, process.execPath, bin], {env: {...process.env, STRATA_HOME: home}, encoding: 'utf8'})
  const cases = [
    [piped, /^strata: \/dev\/stdin is a pipe, not a file or directory — .*cat > image\.tar/],
    // node's 'pipe' is a socket pair
    [strata(home, ['import', '/dev/stdin'], {input: readFileSync(file)}), /^strata: \/dev\/stdin is a socket, not a file or directory/],
    [strata(home, ['import', '/dev/null']), /^strata: \/dev\/null is a device, not a file or directory/],
    [strata(home, ['import', `${file}:v1`]), /^strata: 'v1' names an image, but .*small\.tar is not an OCI layout or image archive/],
  ]
  for (const [r, says] of cases) {
    assert.equal(r.status, 2, r.stderr)
    assert.match(r.stderr, says)
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
  }
  assert.deepEqual(listing(home), before, 'the store is untouched')
})

test('layer export -o - (or /dev/stdout, or a fifo) streams the tar; what cannot work is refused in one line', async (t) => {
  const {home, work} = scratch(t, 'strata-tar-')
  const file = join(work, 'l.tar')
  writeFileSync(file, tarOf([{name: 'hello', data: 'hi\n'}, {name: 'big', data: 'y'.repeat(7000)}]))
  assert.equal(strata(home, ['import', file, '--name', 'l']).status, 0)
  const made = strata(home, ['layer', 'export', 'l', '-o', join(work, 'want.tar')])
  assert.equal(made.status, 0, made.stderr)
  const want = readFileSync(join(work, 'want.tar'))
  assert.ok(want.length > 7000)

  // the tar on standard output, the summary on stderr
  const piped = strata(home, ['layer', 'export', 'l', '-o', '-'])
  assert.equal(piped.status, 0, piped.stderr)
  assert.ok(piped.stdoutBuf.equals(want), 'the same bytes as the file')
  assert.match(piped.stderr, /^exported [0-9a-f]{12} to standard output: 3 entries/)
  // /dev/stdout redirected to a file is standard output, not a file to replace
  const fd = openSync(join(work, 'redirected.tar'), 'w')
  const redirected = spawnSync(process.execPath, [bin, 'layer', 'export', 'l', '-o', '/dev/stdout'], {stdio: ['ignore', fd, 'pipe'], env: {...process.env, STRATA_HOME: home}})
  closeSync(fd)
  assert.equal(redirected.status, 0, redirected.stderr.toString())
  assert.ok(readFileSync(join(work, 'redirected.tar')).equals(want))
  // a fifo another process reads
  const fifo = join(work, 'fifo')
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0)
  const reader = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', fifo, join(work, 'from-fifo.tar')])
  const read = new Promise((r) => reader.on('exit', r))
  const toFifo = strata(home, ['layer', 'export', 'l', '-o', fifo])
  assert.equal(toFifo.status, 0, toFifo.stderr)
  assert.equal(await read, 0)
  assert.ok(readFileSync(join(work, 'from-fifo.tar')).equals(want))

  // a reader that stops early: a one-line error and exit 5, not a bug (the tar is larger than a pipe holds)
  writeFileSync(join(work, 'big.tar'), tarOf([{name: 'big', data: randomBytes(1 << 20)}]))
  assert.equal(strata(home, ['import', join(work, 'big.tar'), '--name', 'big']).status, 0)
  const cut = spawnSync('bash', ['-c', 'set -o pipefail; "$1" "$2" layer export big -o - | head -c 10 >/dev/null', 'sh', process.execPath, bin], {env: {...process.env, STRATA_HOME: home}, encoding: 'utf8'})
  assert.equal(cut.status, 5, cut.stderr)
  assert.match(cut.stderr, /^strata: the reader of the tar went away before its end \(broken pipe\) — /)
  assert.equal(cut.stderr.trim().split('\n').length, 1, cut.stderr)

  const json = strata(home, ['layer', 'export', 'l', '-o', '-', '--json'])
  assert.equal(json.status, 2)
  assert.match(json.json.error.message, /^--json and the tar would both go to standard output$/)
  for (const [args, says] of [
    [['-o', work], /^strata: .* is a directory — /],
    [['-o', '/var/l.tar'], /^strata: cannot write in \/var: permission denied — /],
  ]) {
    const r = strata(home, ['layer', 'export', 'l', ...args])
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, says)
    assert.equal(r.stderr.trim().split('\n').length, 1)
  }
})
