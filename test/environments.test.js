// Where strata runs (README, Environments): each environment built for real,
// as the unprivileged test user. Stores on an overlayfs (a container's root
// filesystem), on ramfs (no user xattrs) and on tmpfs, mounted by the
// provisioning step (scripts/provision.sh); strata inside bubblewrap keeping
// the user's uid and as its uid 0; root of `unshare --map-root-user
// --map-auto` (a rootless container's 65,536 ids); a runtime directory
// another user made first. Each asserts the verdict, the backend, the exit
// code and the words of the message.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {bin, root, strata, newHome, cleanHome, tmp, inNs} from './helpers.js'
import {startRegistry} from './fixtures/registry.js'

const FS = '/var/lib/strata-test/fs'
const PLANTED = '/var/lib/strata-test/planted-tmp'
const uid = process.getuid()

function mounted(dir, type) {
  const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === dir)
  assert.ok(line, `${dir} is not mounted: run scripts/provision.sh as root (npm test does)`)
  assert.equal(line.split(' - ')[1].split(' ')[0], type, `${dir} is ${type}`)
}

/** A fresh store directory on one of the provisioned filesystems, removed after the test. */
function homeOn(t, fs, type) {
  mounted(join(FS, fs), type)
  const dir = join(FS, fs, `t-${process.pid}-${Math.random().toString(16).slice(2, 8)}`)
  mkdirSync(dir)
  t.after(() => inNs(['rm', '-rf', dir], {allowFail: true}))
  return join(dir, 'home')
}

/** A tree: a small file, a file over the inline limit (stored as an object). */
function source() {
  const d = tmp('strata-env-src-')
  writeFileSync(join(d, 'small'), 'hello\n')
  writeFileSync(join(d, 'big'), 'x'.repeat(5000))
  return d
}

const storeJson = (home) => JSON.parse(readFileSync(join(home, 'store.json'), 'utf8'))
const check = (json, name) => json.checks.find((c) => c.name === name)

/** strata inside bubblewrap: its own user namespace keeping our uid (`--uid 0` and more via extra), everything else shared. */
function inBwrap(home, args, extra = [], env = {}) {
  const r = spawnSync('bwrap', ['--unshare-user', ...extra, '--dev-bind', '/', '/', '--', process.execPath, bin, ...args], {
    env: {...process.env, STRATA_HOME: home, NO_COLOR: '1', ...env},
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  })
  let json
  if (args.includes('--json')) {
    try {
      json = JSON.parse(r.stdout)
    } catch {}
  }
  return {status: r.status, stdout: r.stdout, stderr: r.stderr, json}
}

test('a store on an overlayfs: doctor exits 0 naming fuse, auto picks it, a forced kernel mount says why it is refused', async (t) => {
  const home = homeOn(t, 'overlay', 'overlay')
  const d = strata(home, ['doctor', '--json'])
  assert.equal(d.status, 0, d.stdout + d.stderr)
  assert.equal(d.json.usable, true)
  assert.equal(d.json.backend, 'fuse')
  assert.equal(d.json.probe.filesystem.type, 'overlayfs')
  assert.equal(check(d.json, 'overlayfs').ok, false)
  assert.match(check(d.json, 'overlayfs').detail, /the store is on an overlayfs .*refuses an overlayfs as upperdir/)
  assert.match(check(d.json, 'overlayfs').fix, /put STRATA_HOME on a volume or another filesystem.*--backend fuse/)
  assert.equal(check(d.json, 'fuse-overlayfs').ok, true)
  assert.ok(!existsSync(home), 'doctor made no store')
  const human = strata(home, ['doctor'])
  assert.equal(human.status, 0)
  assert.match(human.stdout, /strata can run stacks here \(backend: fuse\): overlayfs doesn't work here/)

  const src = source()
  const i = strata(home, ['import', src, '--name', 'base', '--stack', 'dev', '--json'])
  assert.equal(i.status, 0, i.stderr)
  assert.equal(i.json.stack.backend, 'fuse')
  const r = strata(home, ['run', 'dev', '--', 'cat', 'small', 'big'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, 'hello\n' + 'x'.repeat(5000))

  assert.equal(strata(home, ['stack', 'create', 'k', 'base', '--backend', 'kernel']).status, 0)
  const k = strata(home, ['run', 'k', '--', 'true'])
  assert.equal(k.status, 5, k.stderr)
  assert.match(k.stderr, /^strata: the kernel refused the overlay mount of 'k': the store is on an overlayfs \(.*\), and the kernel refuses an overlayfs as upperdir .* — put STRATA_HOME on a volume or another filesystem \(ext4, xfs, btrfs\), or use `--backend fuse`\n$/)
  assert.doesNotMatch(k.stderr, /dmesg/)
})

test('a store on ramfs: each probe step names its own cause, doctor exits 5 naming ramfs, auto finds kernel-flat', async (t) => {
  const home = homeOn(t, 'ramfs', 'ramfs')
  const d = strata(home, ['doctor', '--json'])
  assert.equal(d.status, 5, d.stdout + d.stderr)
  assert.equal(d.json.usable, false)
  assert.equal(d.json.backend, 'kernel-flat', 'what auto would mount stacks with')
  assert.equal(check(d.json, 'user namespace').ok, true, 'the namespace is not what fails')
  const fs = check(d.json, 'store filesystem')
  assert.equal(fs.ok, false)
  assert.match(fs.detail, /^ramfs at .* does not keep user xattrs \(EOPNOTSUPP\)/)
  assert.match(fs.fix, /put STRATA_HOME on a filesystem with user xattrs/)
  assert.equal(check(d.json, 'overlayfs').ok, true)
  assert.match(check(d.json, 'data-only layers').detail, /not tried: data-only layers need stubs, which need user xattrs/)
  assert.doesNotMatch(d.stdout, /sysctl|unprivileged_userns/)
  const human = strata(home, ['doctor'])
  assert.equal(human.status, 5)
  assert.match(human.stdout, /strata cannot run stacks here: a store can't live on ramfs \(.*\): it keeps no user xattrs \(stacks alone would mount with kernel-flat\)/)

  // a file over the inline limit needs a stub: exit 5 naming the filesystem, never "a bug"
  const src = source()
  const big = strata(home, ['import', src, '--name', 'base'])
  assert.equal(big.status, 5, big.stderr)
  assert.match(big.stderr, /^strata: .* is on ramfs, which does not keep user xattrs \(EOPNOTSUPP\).* — put STRATA_HOME on a filesystem that keeps them .*or import with a larger --inline-limit/)
  assert.doesNotMatch(big.stderr, /bug/)
  assert.ok(!existsSync(join(home, 'store.json')), 'a failed import records no mapping')
  // files stored whole need no xattrs: auto finds kernel-flat, and it runs
  const i = strata(home, ['import', src, '--name', 'base', '--inline-limit', '100000', '--stack', 'dev', '--json'])
  assert.equal(i.status, 0, i.stderr)
  assert.equal(i.json.stack.backend, 'kernel-flat')
  const r = strata(home, ['run', 'dev', '--', 'cat', 'small'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, 'hello\n')
  const c = strata(home, ['stack', 'create', 'k', 'base', '--backend', 'kernel'])
  assert.equal(c.status, 0, c.stderr)
})

test('a store on tmpfs: the kernel backend, as on ext4', async (t) => {
  const home = homeOn(t, 'tmpfs', 'tmpfs')
  const d = strata(home, ['doctor', '--json'])
  assert.equal(d.status, 0, d.stdout + d.stderr)
  assert.equal(d.json.backend, 'kernel')
  assert.equal(d.json.probe.filesystem.type, 'tmpfs')
  assert.ok(d.json.checks.every((c) => c.ok), JSON.stringify(d.json.checks))
  const i = strata(home, ['import', source(), '--stack', 'dev', '--json'])
  assert.equal(i.status, 0, i.stderr)
  assert.equal(i.json.stack.backend, 'kernel')
  const r = strata(home, ['run', 'dev', '--', 'cat', 'big'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout.length, 5000)
})

test('a store on ext4 without d_type (mkfs.ext4 -O ^filetype): the kernel mounts but would list deleted files, so doctor names fuse and the cause, auto picks fuse, the kernel backends are refused', async (t) => {
  const home = homeOn(t, 'no-dtype', 'ext4')
  const run = tmp('strata-run-')
  chmodSync(run, 0o700)
  const env = {XDG_RUNTIME_DIR: run}
  const d = strata(home, ['doctor', '--json'], {env})
  assert.equal(d.status, 0, d.stdout + d.stderr)
  assert.equal(d.json.usable, true)
  assert.equal(d.json.backend, 'fuse')
  assert.equal(d.json.probe.filesystem.type, 'ext4')
  assert.equal(check(d.json, 'store filesystem').ok, true, 'it keeps user xattrs')
  const o = check(d.json, 'overlayfs')
  assert.equal(o.ok, false)
  assert.match(o.detail, /^overlayfs mounts, but the store's filesystem \(ext4 at .*\/no-dtype\/.*\) gives no file types in directory listings \(no d_type: made by `mkfs.ext4 -O \^filetype`.*deleted files would be listed again/)
  assert.match(o.fix, /^put STRATA_HOME on a filesystem with d_type .*, or use `--backend fuse`$/)
  assert.equal(check(d.json, 'fuse-overlayfs').ok, true)
  const human = strata(home, ['doctor'], {env})
  assert.equal(human.status, 0)
  assert.match(human.stdout, /strata can run stacks here \(backend: fuse\): overlayfs doesn't work here \(overlayfs mounts, but .*no d_type/)

  const src = tmp('strata-env-src-')
  mkdirSync(join(src, 'd'))
  writeFileSync(join(src, 'd', 'f'), 'f\n')
  writeFileSync(join(src, 'big'), 'x'.repeat(5000))
  const i = strata(home, ['import', src, '--name', 'base', '--stack', 'dev', '--json'], {env})
  assert.equal(i.status, 0, i.stderr)
  assert.equal(i.json.stack.backend, 'fuse')
  // what overlayfs gets wrong there, fuse gets right: a deleted directory is gone
  const r = strata(home, ['run', 'dev', '--', 'sh', '-c', 'rm -r d && ls && cat big | wc -c'], {env})
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, 'big\n5000\n')

  // asked for by name, the kernel backends are refused with the cause and the fix, at creation and at mount
  for (const b of ['kernel', 'kernel-flat']) {
    const c = strata(home, ['stack', 'create', `k-${b}`, 'base', '--backend', b], {env})
    assert.equal(c.status, 5, c.stderr)
    assert.match(c.stderr, new RegExp(`^strata: the ${b} backend can't show a stack right here: overlayfs mounts, but the store's filesystem \\(ext4 at [^)]*\\) gives no file types .* — put STRATA_HOME on a filesystem with d_type .*, or use \`--backend fuse\`\n$`))
  }
  assert.equal(strata(home, ['stack', 'list', '--json'], {env}).json.stacks.length, 1, 'no stack made')
  // a stack of the kernel backend made before (by an older strata, or a store copied here from ext4): run refuses to mount it
  const rec = join(home, 'stacks', 'dev', 'stack.json')
  writeFileSync(rec, readFileSync(rec, 'utf8').replace(/"backend": *"fuse"/, '"backend":"kernel"'))
  assert.equal(strata(home, ['stack', 'list', '--json'], {env}).json.stacks[0].backend, 'kernel')
  const k = strata(home, ['run', 'dev', '--', 'ls'], {env})
  assert.equal(k.status, 5, k.stderr)
  assert.match(k.stderr, /^strata: can't mount 'dev' with overlayfs \(its backend, kernel\): overlayfs mounts, but .* gives no file types in directory listings .* — put STRATA_HOME on a filesystem with d_type .*, or use `--backend fuse` \(`strata stack create NAME LAYER… --backend fuse`\)\n$/)
  assert.equal(k.stdout, '')
})

test('the probe is cached per filesystem of the store, a failing cached choice is forgotten, doctor --refresh forgets all', async (t) => {
  const run = tmp('strata-run-')
  chmodSync(run, 0o700)
  const env = {XDG_RUNTIME_DIR: run}
  const ext4 = newHome()
  t.after(() => cleanHome(ext4))
  const over = homeOn(t, 'overlay', 'overlay')
  const src = source()
  for (const h of [ext4, over]) assert.equal(strata(h, ['import', src, '--name', 'base'], {env}).status, 0)
  const create = (h, name) => strata(h, ['stack', 'create', name, 'base', '--json'], {env})
  assert.equal(create(ext4, 'a').json.backend, 'kernel')
  assert.equal(create(over, 'a').json.backend, 'fuse', 'the overlayfs store got its own probe')
  assert.equal(create(ext4, 'b').json.backend, 'kernel', 'and the ext4 store kept its own')
  const cacheFile = join(run, 'strata', 'probe.json')
  const cache = JSON.parse(readFileSync(cacheFile, 'utf8'))
  const keys = Object.keys(cache.entries)
  assert.equal(keys.length, 2, keys.join('\n'))
  assert.deepEqual(keys.map((k) => k.split(' ').pop()).sort(), ['ext4', 'overlayfs'])

  // a stale answer (the overlayfs store's filesystem said to do everything): auto trusts it once,
  // the mount fails, the answer is forgotten and the next auto probes again
  const overKey = keys.find((k) => k.endsWith(' overlayfs'))
  const stale = structuredClone(cache)
  stale.entries[overKey].probe.overlay = {ok: true, detail: 'stale'}
  stale.entries[overKey].probe.dataOnly = {ok: true, detail: 'stale'}
  writeFileSync(cacheFile, JSON.stringify(stale))
  assert.equal(create(over, 'c').json.backend, 'kernel')
  const r = strata(over, ['run', 'c', '--', 'true'], {env})
  assert.equal(r.status, 5)
  assert.match(r.stderr, /the kernel refused the overlay mount of 'c': the store is on an overlayfs/)
  assert.equal(JSON.parse(readFileSync(cacheFile, 'utf8')).entries[overKey], undefined, 'the failed answer is forgotten')
  assert.equal(create(over, 'd').json.backend, 'fuse')

  // doctor --refresh forgets every filesystem's answer, and leaves its own fresh one
  const d = strata(ext4, ['doctor', '--refresh', '--json'], {env})
  assert.equal(d.status, 0)
  assert.deepEqual(Object.keys(JSON.parse(readFileSync(cacheFile, 'utf8')).entries).map((k) => k.split(' ').pop()), ['ext4'])
})

test('inside bubblewrap keeping the uid: newuidmap cannot work, the first import falls back to one id, says so once, records it after it worked', async (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  const src = source()
  const d = inBwrap(home, ['doctor', '--json'])
  assert.equal(d.status, 0, d.stdout + d.stderr)
  assert.equal(d.json.mapping, 'single')
  assert.equal(d.json.mappingRecorded, false)
  assert.match(check(d.json, 'id mapping').detail, /^single \(a new store would take it\): one id, you: .*no 'auto' here: newuidmap can't work in this user namespace \(root is not mapped here/)
  assert.equal(d.json.backend, 'kernel')
  assert.ok(!existsSync(home), 'doctor made no store')

  const i = inBwrap(home, ['import', src, '--name', 'base', '--stack', 'dev'])
  assert.equal(i.status, 0, i.stderr)
  assert.equal(i.stderr, "strata: warning: using a single-id mapping: newuidmap can't work in this user namespace (root is not mapped here, so its setuid bit has no effect) (files of other owners are squashed to you)\n")
  assert.doesNotMatch(i.stderr, /newuidmap: /, 'newuidmap was never run')
  assert.equal(storeJson(home).mapping, 'single')
  const again = inBwrap(home, ['import', src, '--name', 'b2'])
  assert.equal(again.status, 0, again.stderr)
  assert.equal(again.stderr, '', 'said once')
  const r = inBwrap(home, ['run', 'dev', '--', 'cat', 'small'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, 'hello\n')
  const dj = inBwrap(home, ['doctor', '--json'])
  assert.equal(dj.json.mapping, 'single')
  assert.equal(dj.json.mappingRecorded, true)
  // outside the sandbox, the store holds to its own mapping
  const out = strata(home, ['doctor', '--json'])
  assert.equal(out.json.mapping, 'single')
  assert.match(check(out.json, 'id mapping').detail, /^single \(the store's own\)/)
})

test("inside bubblewrap: a store left saying 'auto' that never held a foreign owner switches to one id", async (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  // what an older strata's doctor left behind: store.json alone, saying auto
  mkdirSync(home, {recursive: true})
  writeFileSync(join(home, 'store.json'), JSON.stringify({version: 1, mapping: 'auto'}))
  const i = inBwrap(home, ['import', source(), '--name', 'base'])
  assert.equal(i.status, 0, i.stderr)
  assert.match(i.stderr, /^strata: warning: using a single-id mapping: newuidmap can't work in this user namespace .*; this store holds no file of another owner, so it switches to 'single'\n$/)
  assert.equal(storeJson(home).mapping, 'single')

})

test('STRATA_MAP=single is honored by the early start path: the one namespace a fresh import starts is single', async (t) => {
  for (const how of [{env: {STRATA_MAP: 'single'}, args: []}, {env: {}, args: ['--map', 'single']}, {env: {}, args: ['--map=single']}]) {
    const fresh = newHome()
    t.after(() => cleanHome(fresh))
    // on this host a new store would be auto: only a start path that reads STRATA_MAP/--map starts single at once
    const r = strata(fresh, ['import', source(), '--name', 'base', ...how.args], {env: {...how.env, DEBUG: 'strata:exec'}})
    assert.equal(r.status, 0, r.stderr)
    const starts = r.stderr.split('\n').filter((l) => /strata:exec unshare /.test(l))
    assert.equal(starts.length, 1, r.stderr)
    assert.match(starts[0], /'--map-root-user'/)
    assert.doesNotMatch(starts[0], /map-auto/)
    assert.doesNotMatch(r.stderr, /newuidmap|warning/)
    assert.equal(storeJson(fresh).mapping, 'single')
  }
})

test('bubblewrap as uid 0 without CAP_SETFCAP: not even one id can be mapped, and strata says that (no sysctl hint)', async (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  const run = tmp('strata-run-')
  chmodSync(run, 0o700)
  const env = {XDG_RUNTIME_DIR: run}
  const i = inBwrap(home, ['import', source()], ['--uid', '0', '--gid', '0'], env)
  assert.equal(i.status, 5, i.stderr)
  assert.equal(i.stderr, "strata: the 'single' id mapping can't be had here: strata runs as uid 0 of a user namespace without CAP_SETFCAP, so no nested namespace can map root, not even one id — run strata as your own uid in the sandbox (bwrap without --uid 0), or give it CAP_SETFCAP (bwrap --cap-add CAP_SETFCAP)\n")
  assert.ok(!existsSync(home))
  const d = inBwrap(home, ['doctor', '--json'], ['--uid', '0', '--gid', '0'], env)
  assert.equal(d.status, 5)
  assert.equal(check(d.json, 'id mapping').ok, false)
  assert.match(check(d.json, 'id mapping').detail, /without CAP_SETFCAP/)
  assert.doesNotMatch(d.stdout, /sysctl/)
  // given the capability, one id works
  const ok = inBwrap(home, ['import', source(), '--stack', 'dev'], ['--uid', '0', '--gid', '0', '--cap-add', 'CAP_SETFCAP'], env)
  assert.equal(ok.status, 0, ok.stderr)
  assert.equal(storeJson(home).mapping, 'single')
})

test('root of `unshare --map-root-user --map-auto` (a rootless container): strata maps the namespace\'s 65,536 ids itself and owners are kept, with the store on ext4 and on an overlayfs', async (t) => {
  const work = tmp('strata-env-ns-')
  const home = join(work, 'home')
  const run = join(work, 'run')
  const tree = join(work, 'tree')
  const overHome = homeOn(t, 'overlay', 'overlay')
  // inside the namespace: a tree owned by 0, 33, 1000 and 2000:3000, then strata as root there
  const script = `set -e
mkdir -p ${tree}/d ${run} && chmod 700 ${run}
echo a > ${tree}/root; echo b > ${tree}/www; echo c > ${tree}/u1000; echo d > ${tree}/d/x
chown 33:33 ${tree}/www; chown 1000:1000 ${tree}/u1000; chown 2000:3000 ${tree}/d ${tree}/d/x
export STRATA_HOME=${home} XDG_RUNTIME_DIR=${run} NO_COLOR=1
S() { ${process.execPath} ${bin} "$@"; }
S doctor --json > ${work}/doctor.json || true
S import ${tree} --stack dev --json > ${work}/import.json 2> ${work}/import.err
S run dev -- find . -printf '%P %U:%G\\n' > ${work}/owners
S mount dev > /dev/null && S exec dev -- stat -c '%u:%g' d/x > ${work}/session-owner; S umount dev > /dev/null
cat /proc/self/uid_map > ${work}/uid_map
# the container's case whole: its store on an overlayfs (the container's root filesystem)
export STRATA_HOME=${overHome}
S import ${tree} --stack dev --json > ${work}/over-import.json
S run dev -- find . -printf '%P %U:%G\n' > ${work}/over-owners`
  const r = spawnSync('unshare', ['--user', '--map-root-user', '--map-auto', '--mount', '--', 'bash', '-c', script], {encoding: 'utf8'})
  assert.equal(r.status, 0, r.stderr)
  assert.match(readFileSync(join(work, 'uid_map'), 'utf8'), /^\s*0\s+\d+\s+1\n\s*1\s+\d+\s+65535\n?$/, 'the namespace holds 65,536 ids')
  const d = JSON.parse(readFileSync(join(work, 'doctor.json'), 'utf8'))
  assert.equal(d.usable, true)
  assert.equal(d.mapping, 'auto')
  assert.match(check(d, 'id mapping').detail, /^auto \(a new store would take it\): 0 is you, 1…65535 the ids this user namespace holds \(mapped by strata\)/)
  assert.equal(readFileSync(join(work, 'import.err'), 'utf8'), '', 'no owner was squashed')
  const i = JSON.parse(readFileSync(join(work, 'import.json'), 'utf8'))
  assert.equal(i.layer.skipped.squashedOwners, 0)
  const owners = Object.fromEntries(readFileSync(join(work, 'owners'), 'utf8').replace(/\n$/, '').split('\n').map((l) => l.split(' ')))
  assert.deepEqual(owners, {'': '0:0', root: '0:0', www: '33:33', u1000: '1000:1000', d: '2000:3000', 'd/x': '2000:3000'})
  assert.equal(readFileSync(join(work, 'session-owner'), 'utf8').trim(), '2000:3000', 'a session (the holder) maps them too')
  assert.equal(JSON.parse(readFileSync(join(home, 'store.json'), 'utf8')).mapping, 'auto')
  const over = JSON.parse(readFileSync(join(work, 'over-import.json'), 'utf8'))
  assert.equal(over.stack.backend, 'fuse')
  assert.equal(over.layer.skipped.squashedOwners, 0)
  assert.deepEqual(Object.fromEntries(readFileSync(join(work, 'over-owners'), 'utf8').replace(/\n$/, '').split('\n').map((l) => l.split(' '))), owners)
  inNs(['rm', '-rf', work], {allowFail: true})
})

test('a runtime directory another user made first (/tmp/strata-UID, world-writable, with their probe answer) is refused, naming it', async (t) => {
  assert.ok(existsSync(join(PLANTED, `strata-${uid}`)), 'run scripts/provision.sh as root (npm test does)')
  const home = '/var/tmp/strata-never'
  // bubblewrap shows the provisioned directory, made by strata-other, as /tmp: strata looks for /tmp/strata-UID as it would
  const r = spawnSync('bwrap', ['--unshare-user', '--dev-bind', '/', '/', '--bind', PLANTED, '/tmp', '--', process.execPath, bin, 'doctor', '--json'], {
    env: {...process.env, STRATA_HOME: home, XDG_RUNTIME_DIR: ''},
    encoding: 'utf8',
  })
  assert.equal(r.status, 5, r.stdout + r.stderr)
  const d = JSON.parse(r.stdout)
  const c = check(d, 'runtime directory')
  assert.equal(c.ok, false)
  assert.match(c.detail, new RegExp(`^the runtime directory /tmp/strata-${uid} belongs to uid \\d+, not you \\(${uid}\\), so strata can't trust what it holds$`))
  assert.match(c.fix, /remove it \(another user may have made it\), or set XDG_RUNTIME_DIR/)
  assert.equal(d.probe, null, 'nothing was probed, nothing read from there')
  const i = spawnSync('bwrap', ['--unshare-user', '--dev-bind', '/', '/', '--bind', PLANTED, '/tmp', '--', process.execPath, bin, 'import', '/etc/default'], {
    env: {...process.env, STRATA_HOME: '/var/tmp/strata-never', XDG_RUNTIME_DIR: ''},
    encoding: 'utf8',
  })
  assert.equal(i.status, 5, i.stderr)
  assert.match(i.stderr, new RegExp(`^strata: the runtime directory /tmp/strata-${uid} belongs to uid \\d+, not you`))
  assert.ok(!existsSync('/var/tmp/strata-never'))

  // XDG_RUNTIME_DIR of ours but writable by others: its strata directory must not be
  const open = tmp('strata-run-open-')
  chmodSync(open, 0o777)
  mkdirSync(join(open, 'strata'), {mode: 0o777})
  chmodSync(join(open, 'strata'), 0o777)
  const o = strata(newHome(), ['doctor', '--json'], {env: {XDG_RUNTIME_DIR: open}})
  assert.equal(o.status, 5)
  assert.match(check(o.json, 'runtime directory').detail, /strata can be written by others \(mode 0777\)/)
})

test('the first command that writes chooses the mapping: doctor and a failing stack create make no store, import --map records it, doctor reports the store\'s own', async (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  assert.equal(strata(home, ['doctor']).status, 0)
  const c = strata(home, ['stack', 'create', 'x', 'nosuch'])
  assert.equal(c.status, 3, c.stderr)
  assert.ok(!existsSync(home), `no store made: ${existsSync(home) ? readdirSync(home) : ''}`)
  // gc on a fresh STRATA_HOME says there is no store there, and chooses no mapping
  const g = strata(home, ['gc'])
  assert.equal(g.status, 3, g.stderr)
  assert.match(g.stderr, /no store/)
  assert.ok(!existsSync(join(home, 'store.json')), 'gc recorded no mapping')
  const i = strata(home, ['import', source(), '--name', 'base', '--map', 'single'])
  assert.equal(i.status, 0, i.stderr)
  assert.equal(storeJson(home).mapping, 'single')
  const d = strata(home, ['doctor', '--json'])
  assert.equal(d.json.mapping, 'single')
  assert.equal(d.json.mappingRecorded, true)
  // single → auto keeps every owner (0 is the user in both): allowed
  const up = strata(home, ['import', source(), '--name', 'b2', '--map', 'auto'])
  assert.equal(up.status, 0, up.stderr)
  assert.match(up.stderr, /the store switches from the 'single' to the 'auto' id mapping/)
  assert.equal(storeJson(home).mapping, 'auto')
  // once a file of another owner is in it, back to one id is refused, naming the file
  assert.equal(strata(home, ['stack', 'create', 'dev', 'base']).status, 0)
  assert.equal(strata(home, ['run', 'dev', '--', 'sh', '-c', 'touch f && chown 5:5 f']).status, 0)
  const down = strata(home, ['import', source(), '--map', 'single'])
  assert.equal(down.status, 2, down.stderr)
  assert.match(down.stderr, /^strata: this store uses the 'auto' id mapping and holds files of other owners \(.*stacks\/dev\/upper\/f\), which one id can't keep — /)
  assert.equal(storeJson(home).mapping, 'auto')
})

test('every command that can be a store\'s first writer takes --map: pull --map single makes a single store', async (t) => {
  const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8')).commands
  for (const id of ['import', 'pull', 'stack:create', 'run', 'shell', 'mount']) assert.ok(manifest[id].flags.map, `${id} has no --map`)
  const registry = await startRegistry()
  const [a, b] = [newHome(), newHome()]
  t.after(() => {
    registry.stop()
    cleanHome(a)
    cleanHome(b)
  })
  assert.equal(strata(a, ['import', source(), '--stack', 'img']).status, 0)
  const p = strata(a, ['push', 'img', `${registry.host}/env/img:v1`, '--tls-verify=false'])
  assert.equal(p.status, 0, p.stderr)
  const pulled = strata(b, ['pull', `${registry.host}/env/img:v1`, '--tls-verify=false', '--map', 'single', '--stack', 'img'])
  assert.equal(pulled.status, 0, pulled.stderr)
  assert.equal(storeJson(b).mapping, 'single')
  assert.equal(strata(b, ['doctor', '--json']).json.mapping, 'single')
  // and the store holds to it, as for every writer
  const other = strata(b, ['pull', `${registry.host}/env/img:v1`, '--tls-verify=false', '--map', 'bogus'])
  assert.equal(other.status, 2)
})

// Kernels before 6.16 and NFS homes can't be built on this machine (one
// kernel, 6.18, and no NFS client in it): what strata decides there is tested
// from what those kernels answer, at the level of the decision.

test('kernels before 6.16 (derived): mount(8) refusing data-only layers as 6.5–6.15 do, or userxattr as kernels before 5.11 do, makes doctor and auto fall back to kernel-flat, or to fuse, and stacks run', async (t) => {
  // a mount(8) first on PATH that answers as Debian 12's util-linux does on those kernels (exit 32,
  // "wrong fs type, bad option…") for the options they refuse, and hands every other mount to the real one
  const kernels = [
    {name: 'Linux 6.5–6.15: data-only layers need metacopy=on, which userxattr turns off', refuse: '*lowerdir=*::*', backend: 'kernel-flat', failing: 'data-only layers', fix: /^Linux ≥ 6\.16; meanwhile kernel-flat works$/},
    {name: 'Linux before 5.11: no userxattr', refuse: '*userxattr*', backend: 'fuse', failing: 'overlayfs', fix: /Linux ≥ 5\.11.*or --backend fuse/},
  ]
  for (const k of kernels) {
    const shim = tmp('strata-old-kernel-')
    writeFileSync(join(shim, 'mount'), `#!/bin/sh
for a in "$@"; do case "$a" in ${k.refuse}) echo "mount: merged: wrong fs type, bad option, bad superblock on strata, missing codepage or helper program, or other error." >&2; echo "       dmesg(1) may have more information after failed mount system call." >&2; exit 32;; esac; done
exec /usr/bin/mount "$@"
`, {mode: 0o755})
    const run = tmp('strata-run-')
    chmodSync(run, 0o700)
    const env = {PATH: `${shim}:${process.env.PATH}`, XDG_RUNTIME_DIR: run}
    const home = newHome()
    t.after(() => cleanHome(home))
    const d = strata(home, ['doctor', '--json'], {env})
    assert.equal(d.status, 0, `${k.name}: ${d.stdout}${d.stderr}`)
    assert.equal(d.json.backend, k.backend, k.name)
    const failed = d.json.checks.filter((c) => !c.ok).map((c) => c.name)
    assert.deepEqual(failed, k.failing === 'overlayfs' ? ['overlayfs', 'data-only layers'] : ['data-only layers'], k.name)
    assert.match(check(d.json, k.failing).detail, /wrong fs type, bad option/, k.name)
    assert.match(check(d.json, k.failing).fix, k.fix, k.name)
    const i = strata(home, ['import', source(), '--name', 'base', '--stack', 'dev', '--json'], {env})
    assert.equal(i.status, 0, i.stderr)
    assert.equal(i.json.stack.backend, k.backend, k.name)
    const r = strata(home, ['run', 'dev', '--', 'sh', '-c', 'rm small && ls && wc -c < big'], {env})
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stdout, 'big\n5000\n', k.name)
  }
})

test('a store on NFS (derived): the refusal names NFS as upperdir and what to do, whether or not the server keeps user xattrs; auto then takes fuse when it works', async () => {
  const {overlayRefusal} = await import('../dist/src/runtime/overlay-causes.js')
  const {chooseBackend} = await import('../dist/src/runtime/backends.js')
  // what statfs says under a store on NFS (NFS_SUPER_MAGIC is 'nfs' for v3 and v4 alike)
  const on = (types, xattrs = true) => ({fsType: (p) => types.find(([prefix]) => p.startsWith(prefix))?.[1] ?? 'ext4', keepsUserXattrs: () => xattrs})
  const store = '/home/me/.local/share/strata'
  for (const xattrs of [true, false]) {
    const c = overlayRefusal(store, ['flat/abc'], 'stacks/dev/upper', store, on([[store, 'nfs']], xattrs))
    assert.equal(c.why, `the store is on NFS (${store}), and the kernel refuses a network filesystem as upperdir unless it has d_type, RENAME_WHITEOUT and xattrs (NFS has no RENAME_WHITEOUT)`)
    assert.equal(c.fix, 'put STRATA_HOME on a local filesystem (ext4, xfs, btrfs, tmpfs), or use `--backend fuse`')
  }
  // a lower on NFS beneath a local upper is no refusal of the kernel's: no cause is made up
  assert.equal(overlayRefusal(store, ['flat/abc'], 'stacks/dev/upper', store, on([[`${store}/flat`, 'nfs']])), null)
  // the other causes keep their order: an overlayfs upper, an upper without xattrs, an overlayfs lower
  assert.match(overlayRefusal(store, ['l'], 'u', store, on([[store, 'overlayfs']])).why, /^the store is on an overlayfs/)
  assert.match(overlayRefusal(store, ['l'], 'u', store, on([], false)).why, /^the store's filesystem \(ext4\) does not keep user xattrs/)
  assert.match(overlayRefusal(store, ['l'], 'u', store, on([[`${store}/l`, 'overlayfs']])).why, /^a lower layer is itself on an overlayfs/)
  assert.equal(overlayRefusal(store, ['l'], 'u', store, on([])), null)
  // the probe's steps on NFS as the refusal makes them: auto takes fuse if fuse-overlayfs mounts there, else none works
  const cause = overlayRefusal(store, ['lower'], 'upper2', store, on([[store, 'nfs']]))
  const probe = (fuse) => ({
    kernel: '6.1', filesystem: {type: 'nfs', path: store}, xattrs: {ok: true, detail: 'nfs keeps user xattrs'},
    overlay: {ok: false, detail: `the kernel refused overlayfs in a user namespace: ${cause.why}`, fix: cause.fix},
    dataOnly: {ok: false, detail: "not tried: overlayfs itself doesn't work here", fix: cause.fix},
    fuse: fuse ? {ok: true, detail: 'fuse-overlayfs mounts'} : {ok: false, detail: 'fuse-overlayfs could not mount here'},
  })
  assert.deepEqual(chooseBackend(probe(true)), {backend: 'fuse', why: `overlayfs doesn't work here (the kernel refused overlayfs in a user namespace: ${cause.why})`})
  assert.equal(chooseBackend(probe(false)), null)
})
