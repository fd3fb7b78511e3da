// Store format 2 (docs/design.md, On-disk layout): short stubs that keep
// their xattrs in an ext4 inode, object aliases with collisions resolved for
// the one object, check and gc over aliases, and the in-place upgrade of a
// format-1 store (test/fixtures/format1-store.tar.gz, made by the import of
// strata before format 2), killed anywhere.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {spawnSync} from 'node:child_process'
import {strata, newHome, cleanHome, inNs, tmp, root} from './helpers.js'

const xattr = (p, name) => {
  const r = spawnSync('getfattr', ['--only-values', '-n', name, p])
  return r.status === 0 ? r.stdout : null
}
const sha = (b) => createHash('sha256').update(b).digest('hex')

/** Every regular file under dir (relative paths), sorted. */
function files(dir, rel = '') {
  const out = []
  for (const n of readdirSync(join(dir, rel)).sort()) {
    const p = join(rel, n)
    const st = lstatSync(join(dir, p))
    if (st.isDirectory()) out.push(...files(dir, p))
    else if (st.isFile()) out.push(p)
  }
  return out
}

/** A tree of n files of distinct content, each over the inline limit. */
function tree(n) {
  const src = tmp('strata-f2-src-')
  mkdirSync(join(src, 'd'))
  for (let i = 0; i < n; i++) writeFileSync(join(src, i % 2 ? 'd' : '', `f${i}`), `file ${i} `.repeat(20 + (i % 7)))
  return src
}

const EXT4 = '/var/lib/strata-test/ext4'

test('format 2 stubs keep their xattrs in the inode on ext4 (st_blocks 0); digest-form stubs do not', {skip: !existsSync(join(EXT4, 'lost+found')) && `no ext4 filesystem at ${EXT4} (scripts/provision.sh mounts one as root; this machine could not loop-mount it)`}, (t) => {
  const base = join(EXT4, `t-${process.pid}-${Date.now()}`)
  mkdirSync(base)
  const home = join(base, 'home')
  t.after(() => inNs(['rm', '-rf', base], {allowFail: true}))
  const src = tree(40)
  const r = strata(home, ['import', src, '--name', 'l', '--json'])
  assert.equal(r.status, 0, r.stderr)
  const t2 = join(home, 'layers', r.json.layer.id, 'tree')
  const stubs = files(t2)
  assert.equal(stubs.length, 40)
  for (const f of stubs) {
    const p = join(t2, f)
    assert.equal(xattr(p, 'user.overlay.metacopy')?.length, 0, `${f}: empty metacopy`)
    const redirect = xattr(p, 'user.overlay.redirect').toString()
    assert.match(redirect, /^\/[0-9a-f]{2}\/[0-9a-f]{20}$/, f)
    assert.equal(statSync(p).blocks, 0, `${f}: no block of its own (its xattrs are in the inode)`)
    assert.equal(statSync(p).size, readFileSync(join(src, f)).length)
  }
  // the same tree stamped in the digest form (format 1's stubs): each spills to an xattr block
  const stamped = join(base, 'stamped')
  inNs(['cp', '-a', src, stamped])
  const objs = join(base, 'objs')
  mkdirSync(objs)
  assert.equal(strata(home, ['stamp', stamped, '--objects', objs]).status, 0)
  for (const f of files(stamped)) assert.ok(statSync(join(stamped, f)).blocks > 0, `${f}: a digest-form stub has an xattr block`)
  // and the kernel reads the short stubs' content
  assert.equal(strata(home, ['stack', 'create', 's', 'l']).status, 0)
  const out = strata(home, ['run', 's', '--', 'sh', '-c', 'cat f0 d/f1 f38'])
  assert.equal(out.status, 0, out.stderr)
  assert.equal(out.stdout, ['f0', 'd/f1', 'f38'].map((f) => readFileSync(join(src, f), 'utf8')).join(''))
})

test('a forced alias collision: the colliding object gets a longer alias, and every stub reads its own bytes', (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  const src = tree(300)
  // one hex digit per alias: 300 objects over 4096 names share prefixes, deterministically
  const env = {STRATA_TEST_ALIAS_HEX: '1'}
  const r = strata(home, ['import', src, '--name', 'l', '--json'], {env})
  assert.equal(r.status, 0, r.stderr)
  const id = r.json.layer.id
  const index = readFileSync(join(home, 'layers', id, 'digests'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(' '))
  assert.equal(index.length, 300)
  const longer = index.filter(([, n]) => Number(n) > 1)
  assert.ok(longer.length > 0, 'some objects share their first 3 hex digits')
  assert.ok(index.filter(([, n]) => n === '1').length > 250, 'the others keep the shortest alias')
  for (const [d, n] of longer) {
    // the shorter name belongs to another object: its alias is longer, that object's alone
    const shorter = join(home, 'objects', d.slice(0, 2), d.slice(2, 2 + Number(n) - 1))
    assert.notEqual(lstatSync(shorter).ino, lstatSync(join(home, 'objects', d.slice(0, 2), d.slice(2))).ino)
  }
  const t2 = join(home, 'layers', id, 'tree')
  for (const f of files(t2)) {
    const redirect = xattr(join(t2, f), 'user.overlay.redirect').toString()
    const object = join(home, 'objects', redirect)
    assert.equal(sha(readFileSync(object)), sha(readFileSync(join(src, f))), `${f} reads its own bytes through ${redirect}`)
  }
  // through the kernel, and back out by export
  assert.equal(strata(home, ['stack', 'create', 's', 'l'], {env}).status, 0)
  const want = files(src).map((f) => `${sha(readFileSync(join(src, f)))}  ${f}\n`).join('')
  const got = strata(home, ['run', 's', '--', 'sh', '-c', `sha256sum ${files(src).join(' ')}`])
  assert.equal(got.status, 0, got.stderr)
  assert.equal(got.stdout, want)
  const out = join(tmp(), 'l.tar')
  assert.equal(strata(home, ['layer', 'export', 'l', '-o', out]).status, 0)
  const x = tmp()
  spawnSync('tar', ['-xf', out, '-C', x])
  for (const f of files(src)) assert.equal(sha(readFileSync(join(x, f))), sha(readFileSync(join(src, f))), f)
  const c = strata(home, ['check', '--json'])
  assert.equal(c.status, 0, c.stdout)
  // the same content imported again, with the usual alias length, is the same layer
  const again = strata(home, ['import', src, '--json'])
  assert.equal(again.json.layer.id, id)
})

test('check finds a corrupted object and a wrong alias (exit 6); gc keeps aliases with their objects', (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  const src = tree(4)
  const other = tmp('strata-f2-other-')
  writeFileSync(join(other, 'o'), 'other content '.repeat(20))
  const l = strata(home, ['import', src, '--name', 'l', '--json']).json.layer
  const o = strata(home, ['import', other, '--name', 'o', '--json']).json.layer
  assert.equal(strata(home, ['check']).status, 0)
  const redirectOf = (layer, f) => xattr(join(home, 'layers', layer, 'tree', f), 'user.overlay.redirect').toString()
  const aliasF0 = join(home, 'objects', redirectOf(l.id, 'f0'))
  const aliasO = join(home, 'objects', redirectOf(o.id, 'o'))

  // a wrong alias: f0's alias now a hardlink to another object
  inNs(['sh', '-c', 'mv "$1" "$1.keep" && ln "$2" "$1"', 'sh', aliasF0, aliasO])
  let r = strata(home, ['check', '--json'])
  assert.equal(r.status, 6, r.stdout)
  assert.ok(r.json.problems.some((p) => p.kind === 'layer' && /wrong alias/.test(p.message)), JSON.stringify(r.json.problems))
  assert.ok(r.json.problems.some((p) => p.kind === 'object' && /alias of no object/.test(p.message)))
  inNs(['sh', '-c', 'rm "$1" && mv "$1.keep" "$1"', 'sh', aliasF0])
  assert.equal(strata(home, ['check']).status, 0)

  // a corrupted object, changed through its alias (the same inode)
  inNs(['sh', '-c', 'chmod u+w "$1" && printf X | dd of="$1" bs=1 seek=3 conv=notrunc status=none', 'sh', aliasO])
  r = strata(home, ['check', '--json'])
  assert.equal(r.status, 6, r.stdout)
  assert.ok(r.json.problems.some((p) => p.kind === 'object' && /no longer matches/.test(p.message)))
  assert.ok(r.json.problems.some((p) => p.kind === 'layer' && /damaged object/.test(p.message)))
  // repair moves the object aside and its alias with it: nothing reads the damaged bytes any more
  strata(home, ['check', '--repair'])
  assert.ok(!existsSync(aliasO))

  // gc: a removed layer's objects go with their aliases; the others' stay together
  assert.equal(strata(home, ['layer', 'rm', 'o']).status, 0)
  assert.equal(strata(home, ['import', other, '--name', 'o2']).status, 0)
  assert.equal(strata(home, ['layer', 'rm', 'o2']).status, 0)
  r = strata(home, ['gc', '--json'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.json.objects.kept, 4)
  const names = readdirSync(join(home, 'objects')).flatMap((d) => readdirSync(join(home, 'objects', d)))
  assert.equal(names.length, 8, `4 objects and their 4 aliases: ${names}`)
  assert.ok(existsSync(aliasF0))
  assert.equal(strata(home, ['check']).status, 0)
})

/** The fixture store (format 1, made by the import before format 2) in a fresh STRATA_HOME. */
function fixtureHome(t) {
  const home = newHome()
  t.after(() => cleanHome(home))
  mkdirSync(home, {recursive: true})
  inNs(['tar', '--xattrs', '--xattrs-include=user.*', '-xpzf', join(root, 'test', 'fixtures', 'format1-store.tar.gz'), '-C', home])
  return home
}

const BASE = 'e838abf1de6997dff4bdc1d2e046df93a29a1fd9f6456b36d9af66d4222becab'
const TOP = '3024893b1313fd7e3fb2abf19856f95528cb68c719c586401e3e280eefc89d1e'

/** What a store shows of the fixture's content: both layers exported, and files read through the kernel. */
function contentOf(home) {
  const out = {}
  for (const l of ['base', 'top']) {
    const f = join(tmp(), `${l}.tar`)
    const r = strata(home, ['layer', 'export', l, '-o', f])
    assert.equal(r.status, 0, r.stderr)
    out[l] = sha(readFileSync(f))
  }
  const r = strata(home, ['run', 'fx', '--', 'sh', '-c', 'cat bin/tool etc/os-release etc/attr.conf usr/share/doc/b.txt usr/share/doc/new.txt usr/share/doc/big.bin; ls usr/share/doc'])
  assert.equal(r.status, 0, r.stderr)
  out.run = sha(r.stdoutBuf)
  out.ids = strata(home, ['layer', 'list', '--json']).json.layers.map((l) => l.id).sort()
  return out
}

const formatOf = (home) => JSON.parse(readFileSync(join(home, 'store.json'), 'utf8')).format

test('a format-1 store is upgraded in place by the first command that writes, and reads back identical', (t) => {
  const home = fixtureHome(t)
  assert.equal(formatOf(home), undefined, 'the fixture is of format 1')
  const tool = join(home, 'layers', BASE, 'tree', 'bin', 'tool')
  assert.equal(xattr(tool, 'user.overlay.metacopy').length, 36)
  const before = contentOf(home) // reading commands read format 1 as it is
  assert.equal(formatOf(home), undefined, 'reading does not upgrade')
  assert.deepEqual(before.ids, [TOP, BASE].sort())
  assert.equal(strata(home, ['check']).status, 0)

  const r = strata(home, ['stack', 'create', 'fx2', 'top', 'base'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(formatOf(home), 3)
  assert.equal(readlinkSync(join(home, 'index', 'names', 'base')), BASE, 'format 3: the layer-name index')
  assert.equal(xattr(tool, 'user.overlay.metacopy').length, 0)
  assert.match(xattr(tool, 'user.overlay.redirect').toString(), /^\/ec\/45ad46291663cf449eed$/)
  assert.ok(existsSync(join(home, 'layers', BASE, 'digests')))
  assert.deepEqual(contentOf(home), before)
  const c = strata(home, ['check', '--json'])
  assert.equal(c.status, 0, c.stdout)
  assert.deepEqual(c.json.counts, {layers: 2, objects: 6, stacks: 2})
})

test('an upgrade killed at any step: the store stays readable, and the next command that writes finishes it', (t) => {
  const want = contentOf(fixtureHome(t))
  // steps: one per layer's index, one per stub rewritten (6 objects, 7 stubs); past the last, nothing is killed
  for (let k = 1; k <= 10; k++) {
    const home = fixtureHome(t)
    const r = strata(home, ['gc'], {env: {STRATA_TEST_UPGRADE_KILL_AT: String(k)}})
    if (r.status === 0) {
      assert.ok(k >= 9, `killed at step ${k}: the upgrade has 9 steps`)
      assert.equal(formatOf(home), 3)
      continue
    }
    assert.equal(formatOf(home), undefined, `killed at step ${k}: store.json is written last`)
    // half upgraded: still whole for check (which reads, and so does not upgrade), and for reading
    const c = strata(home, ['check', '--json'])
    assert.equal(c.status, 0, `after a kill at step ${k}: ${c.stdout}`)
    assert.deepEqual(contentOf(home), want)
    assert.equal(strata(home, ['gc']).status, 0)
    assert.equal(formatOf(home), 3)
    assert.deepEqual(contentOf(home), want)
    assert.equal(strata(home, ['check']).status, 0)
  }
})

test('a store of a newer format is refused with a clear message (exit 5)', (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  const src = tree(2)
  assert.equal(strata(home, ['import', src, '--name', 'l']).status, 0)
  const f = join(home, 'store.json')
  inNs(['sh', '-c', `sed -i 's/"format": 3/"format": 4/' "$1"`, 'sh', f])
  for (const args of [['gc'], ['import', src], ['layer', 'export', 'l', '-o', join(tmp(), 'x.tar')]]) {
    const r = strata(home, args)
    assert.equal(r.status, 5, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, /format 4, newer than this strata reads \(format 3 at most\)/)
  }
})

test('import --stubs digest: a layer in the digest form (metacopy with the fs-verity digest, the full name as redirect), read and checked like the others', (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  const src = tree(6)
  const r = strata(home, ['import', src, '--name', 'd', '--stubs', 'digest', '--json'])
  assert.equal(r.status, 0, r.stderr)
  const t2 = join(home, 'layers', r.json.layer.id, 'tree')
  for (const f of files(t2)) {
    const m = xattr(join(t2, f), 'user.overlay.metacopy')
    assert.equal(m.length, 36)
    const digest = m.subarray(4).toString('hex')
    assert.equal(xattr(join(t2, f), 'user.overlay.redirect').toString(), `/${digest.slice(0, 2)}/${digest.slice(2)}`)
    // fsverity's own tool names the object by the digest the stub carries
    const fv = spawnSync('fsverity', ['digest', '--compact', join(src, f)]).stdout.toString().trim()
    assert.equal(fv, digest)
  }
  const names = readdirSync(join(home, 'objects')).flatMap((d) => readdirSync(join(home, 'objects', d)))
  assert.ok(names.every((n) => n.length === 62), 'no aliases for a digest-form layer')
  assert.equal(strata(home, ['stack', 'create', 's', 'd']).status, 0)
  const out = strata(home, ['run', 's', '--', 'cat', 'f0'])
  assert.equal(out.stdout, readFileSync(join(src, 'f0'), 'utf8'))
  assert.equal(strata(home, ['check']).status, 0)
  assert.equal(strata(home, ['gc', '--json']).json.objects.kept, 6)
})

test('stack create --verity: refused for short stubs (exit 2) and another backend (exit 2); where the kernel or the filesystem has no fs-verity, refused naming the cause (exit 5); no stack made', (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  assert.equal(strata(home, ['import', tree(4), '--name', 'd', '--stubs', 'digest']).status, 0)
  assert.equal(strata(home, ['import', tree(3), '--name', 's']).status, 0)
  let r = strata(home, ['stack', 'create', 'S', 's', '--verity', '--backend', 'kernel'])
  assert.equal(r.status, 2, r.stderr)
  assert.match(r.stderr, /has short stubs \(store format 2\), which carry no digest for the kernel to check.*--stubs digest/s)
  r = strata(home, ['stack', 'create', 'S', 'd', '--verity', '--backend', 'kernel-flat'])
  assert.equal(r.status, 2, r.stderr)
  assert.match(r.stderr, /--verity needs the kernel backend/)

  // what this machine can do, asked of the kernel directly: FS_IOC_ENABLE_VERITY on a file beside the store
  const probe = join(home, 'verity-control')
  writeFileSync(probe, 'control\n')
  const control = spawnSync('fsverity', ['enable', probe], {encoding: 'utf8'})
  r = strata(home, ['stack', 'create', 'S', 'd', '--verity', '--backend', 'kernel', '--json'])
  if (control.status !== 0) {
    assert.match(control.stderr, /not supported|Inappropriate ioctl/i, 'the control fails for want of fs-verity, not otherwise')
    assert.equal(r.status, 5, r.stderr)
    assert.match(r.json.error.message, /^fs-verity is not available for the store at .* \(FS_IOC_ENABLE_VERITY: .*\): the kernel is built without CONFIG_FS_VERITY, or its filesystem has no verity feature$/)
    assert.match(r.json.error.hint, /CONFIG_FS_VERITY=y .* or create the stack without --verity/)
    assert.equal(strata(home, ['stack', 'list', '--json']).json.stacks.length, 0, 'no stack made')
  } else {
    // (not reached on the machine these tests were written on: its kernel has no CONFIG_FS_VERITY)
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.json.verity, 'require')
    const objs = files(join(home, 'objects'))
    assert.ok(objs.length >= 4)
    for (const o of objs.filter((o) => o.length === 65)) {
      const m = spawnSync('fsverity', ['measure', join(home, 'objects', o)], {encoding: 'utf8'})
      assert.equal(m.stdout.split(' ')[0], `sha256:${o.replace('/', '')}`, 'fs-verity is on, and its digest is the object\'s name')
    }
    assert.equal(strata(home, ['run', 'S', '--', 'cat', 'd/f1']).status, 0)
  }
})
