// Bad input: a one-line error naming the thing and the fix, the documented
// exit code, and the store exactly as it was.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {strata, newHome, cleanHome, listing, tmp, expectOneLineError, bin} from './helpers.js'
import {spawnSync} from 'node:child_process'

const unreadable = '/var/lib/strata-test/unreadable'

test('bad input fails clearly, with its exit code, and leaves the store untouched', async (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  const src = tmp('strata-src-')
  writeFileSync(join(src, 'file'), 'x'.repeat(200))
  mkdirSync(join(src, 'dir'))
  assert.equal(strata(home, ['import', src, '--name', 'base']).status, 0)
  assert.equal(strata(home, ['stack', 'create', 'used', 'base']).status, 0)
  const before = listing(home)
  assert.ok(before.length > 5)

  const cases = [
    {args: ['import', join(src, 'missing')], exit: 3, says: /no such file or directory: .*missing/},
    {args: ['import', '/root'], exit: 2, says: /cannot read \/root/},
    {args: ['import', join(src, 'file')], exit: 2, says: /cannot tell what .*file is: not a tar, gzip or zstd file, nor a directory/},
    // what only root can read, inside a readable tree (scripts/provision.sh): a directory, a file stored as an object, one stored inline
    {args: ['import', `${unreadable}/dir`], exit: 2, says: /cannot read \/var\/lib\/strata-test\/unreadable\/dir\/locked: permission denied/},
    {args: ['import', `${unreadable}/file`], exit: 2, says: /cannot read \/var\/lib\/strata-test\/unreadable\/file\/secret: permission denied/},
    {args: ['import', `${unreadable}/small`], exit: 2, says: /cannot read \/var\/lib\/strata-test\/unreadable\/small\/secret: permission denied/},
    // a layer name may hold '/' (a pulled image's top layer is named by its reference), but not '//' nor an ending '/'
    {args: ['import', src, '--name', 'bad//name'], exit: 2, says: /invalid layer name 'bad\/\/name'/},
    {args: ['import', src, '--name', 'bad/'], exit: 2, says: /invalid layer name 'bad\/'/},
    // an empty "$VAR" is no name, said so, rather than a layer left unnamed
    {args: ['import', src, '--name', ''], exit: 2, says: /invalid layer name ''/},
    {args: ['import', src, '--stack', ''], exit: 2, says: /invalid stack name ''/},
    {args: ['stack', 'create', 'a/b', 'base'], exit: 2, says: /invalid stack name 'a\/b'/},
    {args: ['stack', 'create', '..', 'base'], exit: 2, says: /invalid stack name '\.\.'/},
    {args: ['stack', 'create', 'new', 'nosuchlayer'], exit: 3, says: /no layer named 'nosuchlayer'/},
    {args: ['stack', 'create', 'used', 'base'], exit: 4, says: /stack 'used' already exists/},
    {args: ['stack', 'inspect', 'nosuch'], exit: 3, says: /no stack named 'nosuch'/},
    {args: ['stack', 'rm', 'nosuch'], exit: 3, says: /no stack named 'nosuch'/},
    {args: ['layer', 'inspect', 'nosuch'], exit: 3, says: /no layer named 'nosuch'/},
    {args: ['layer', 'rm', 'base'], exit: 4, says: /is used by stack used/},
    {args: ['run', 'nosuch', '--', 'true'], exit: 3, says: /no stack named 'nosuch'/},
    {args: ['run', 'used'], exit: 2, says: /no command to run/},
    {args: ['stack', 'list', '--bogus'], exit: 2, says: /strata stack list has no flag --bogus/},
    // an export never fills a directory of other things, and names what it can't write
    {args: ['stack', 'export', 'used', '--oci', src], exit: 2, says: /is neither empty nor an OCI image layout/},
    {args: ['stack', 'export', 'used', '--oci', '/var/strata-oci'], exit: 2, says: /cannot write \/var\/strata-oci: permission denied/},
  ]
  for (const c of cases) {
    expectOneLineError(home, c)
    if (c.args[0] !== 'run') {
      const j = strata(home, [...c.args, '--json'])
      assert.equal(j.status, c.exit)
      assert.equal(j.json?.error?.exit, c.exit, `--json error for ${c.args.join(' ')}: ${j.stdout}`)
      assert.match(j.json.error.message, c.says)
    }
  }
  assert.deepEqual(listing(home), before, 'the store is untouched')

  // what this user may not write is theirs to fix, not a bug: a store, an object directory
  for (const [h, args, says] of [
    ['/var/strata-home', ['import', src], /^strata: mkdir \/var\/strata-home: permission denied — check the permissions/],
    [home, ['stamp', src, '--objects', '/var/strata-objects'], /^strata: mkdir \/var\/strata-objects: permission denied — /],
  ]) {
    const r = strata(h, args)
    assert.equal(r.status, 2, r.stderr)
    assert.match(r.stderr, says)
  }
  assert.deepEqual(listing(home), before, 'the store is untouched')

  // a store on a read-only filesystem (a tmpfs mounted read-only in a namespace of our own) is environment, exit 5
  const ro = tmp('strata-ro-')
  // uid 0 there: a runtime directory of its own (the machine's /tmp/strata-0 may be real root's, which strata refuses)
  const roRuntime = tmp('strata-ro-run-')
  const roRun = spawnSync('unshare', ['-Urm', 'sh', '-c', 'mount -t tmpfs -o ro tmpfs "$1" && XDG_RUNTIME_DIR="$5" STRATA_MAP=single STRATA_HOME="$1/store" exec "$2" "$3" import "$4"', 'sh', ro, process.execPath, bin, src, roRuntime], {encoding: 'utf8'})
  assert.equal(roRun.status, 5, roRun.stderr)
  assert.match(roRun.stderr, new RegExp(`^strata: mkdir ${ro}/store: read-only file system — choose a writable place`))
})

test('an interrupted import publishes nothing', async (t) => {
  const {spawn} = await import('node:child_process')
  const {randomBytes} = await import('node:crypto')
  const {existsSync, readdirSync} = await import('node:fs')
  const {bin} = await import('./helpers.js')
  const home = newHome()
  t.after(() => cleanHome(home))
  const src = tmp('strata-src-')
  for (let i = 0; i < 40; i++) writeFileSync(join(src, `f${i}`), randomBytes(4 << 20))
  const child = spawn(process.execPath, [bin, 'import', src, '--name', 'cut'], {env: {...process.env, STRATA_HOME: home}, stdio: 'ignore', detached: true})
  // kill it once objects are being written
  for (let i = 0; i < 400; i++) {
    await new Promise((r) => setTimeout(r, 25))
    if (existsSync(join(home, 'objects')) && readdirSync(join(home, 'objects')).length > 0) break
  }
  assert.equal(child.exitCode, null, "the import was still running")
  // the whole process group: strata, and the namespace's process with its workers
  process.kill(-child.pid, 'SIGKILL')
  await new Promise((r) => child.on('exit', r))
  const layers = readdirSync(join(home, 'layers'))
  assert.deepEqual(layers, [], 'no layer was published')
  const list = strata(home, ['layer', 'list', '--json'])
  assert.deepEqual(list.json.layers, [])
  // and the next import of the same tree completes
  const again = strata(home, ['import', src, '--name', 'cut', '--json'])
  assert.equal(again.status, 0, again.stderr)
  assert.equal(again.json.layer.counts.stubs, 40)
})
