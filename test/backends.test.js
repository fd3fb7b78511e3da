// Backends: auto picks the first that works here (probed once per boot),
// each can be forced, and a FUSE daemon never outlives its session.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {strata, newHome, cleanHome, tmp} from './helpers.js'

const fuseDaemonsFor = (merged) =>
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')
        const state = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.[0]
        return cmd[0].endsWith('fuse-overlayfs') && cmd.includes(merged) && state !== 'Z'
      } catch {
        return false
      }
    })

test('auto picks the kernel backend here and remembers the probe; a bad name is a usage error', async (t) => {
  const home = newHome()
  const runtime = tmp('strata-runtime-')
  t.after(() => cleanHome(home))
  const src = tmp('strata-src-')
  writeFileSync(join(src, 'f'), 'x'.repeat(100))
  const env = {XDG_RUNTIME_DIR: runtime}
  assert.equal(strata(home, ['import', src, '--name', 'l'], {env}).status, 0)
  const c = strata(home, ['stack', 'create', 's', 'l', '--json'], {env})
  assert.equal(c.json.backend, 'kernel')
  // cached per filesystem of the store: keyed by boot id, kernel, user namespace, device and type
  const cache = JSON.parse(readFileSync(join(runtime, 'strata', 'probe.json'), 'utf8'))
  const [key, ...more] = Object.keys(cache.entries)
  assert.equal(more.length, 0)
  assert.equal(cache.entries[key].probe.dataOnly.ok, true)
  assert.ok(key.startsWith(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() + ' '), key)
  assert.equal(strata(home, ['stack', 'create', 't', 'l', '--json'], {env: {...env, STRATA_BACKEND: 'fuse'}}).json.backend, 'fuse')
  const bad = strata(home, ['stack', 'create', 'u', 'l'], {env: {...env, STRATA_BACKEND: 'zfs'}})
  assert.equal(bad.status, 2)
  assert.match(bad.stderr, /unknown backend 'zfs' — use one of: auto, kernel, kernel-flat, fuse/)
})

test('fuse: run and a session leave no daemon behind; writes persist', async (t) => {
  const home = newHome()
  t.after(() => {
    strata(home, ['umount', 'f'])
    cleanHome(home)
  })
  const src = tmp('strata-src-')
  writeFileSync(join(src, 'data'), 'fuse data, more than sixty-four bytes, from a materialized tree\n')
  assert.equal(strata(home, ['import', src, '--name', 'l']).status, 0)
  assert.equal(strata(home, ['stack', 'create', 'f', 'l', '--backend', 'fuse']).status, 0)
  const merged = join(home, 'stacks', 'f', 'merged')
  const r = strata(home, ['run', 'f', '--', 'sh', '-c', 'cat data; echo new > added'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, 'fuse data, more than sixty-four bytes, from a materialized tree\n')
  assert.deepEqual(fuseDaemonsFor(merged), [], 'no fuse-overlayfs after run')

  assert.equal(strata(home, ['mount', 'f']).status, 0)
  assert.equal(fuseDaemonsFor(merged).length, 1, 'the session holds one daemon')
  assert.equal(strata(home, ['exec', 'f', '--', 'cat', 'added']).stdout, 'new\n')
  assert.equal(strata(home, ['umount', 'f']).status, 0)
  assert.deepEqual(fuseDaemonsFor(merged), [], 'no fuse-overlayfs after umount')
})

test('auto falls back as the probe says: kernel-flat without data-only layers, fuse without overlayfs, else exit 5', async () => {
  const {autoBackend} = await import('../dist/src/runtime/backends.js')
  const {Home} = await import('../dist/src/store/home.js')
  const ok = {ok: true, detail: 'works'}
  const no = {ok: false, detail: 'refused'}
  const saved = process.env.XDG_RUNTIME_DIR
  try {
    for (const [probe, want] of [
      [{overlay: ok, dataOnly: ok, fuse: ok}, 'kernel'],
      [{overlay: ok, dataOnly: no, fuse: ok}, 'kernel-flat'],
      [{overlay: no, dataOnly: no, fuse: ok}, 'fuse'],
    ]) {
      process.env.XDG_RUNTIME_DIR = tmp('strata-runtime-')
      let probes = 0
      const fake = async () => (probes++, {kernel: 'test', filesystem: {type: 'ext4', path: '/'}, ...probe})
      assert.equal(await autoBackend(new Home('/nonexistent'), fake), want)
      assert.equal(await autoBackend(new Home('/nonexistent'), fake), want)
      assert.equal(probes, 1, 'probed once, then read from the cache')
    }
    process.env.XDG_RUNTIME_DIR = tmp('strata-runtime-')
    await assert.rejects(autoBackend(new Home('/nonexistent'), async () => ({kernel: 'test', filesystem: {type: 'ext4', path: '/'}, overlay: no, dataOnly: no, fuse: no})), (e) => e.exit === 5 && /no backend works for a store on ext4 here/.test(e.message))
  } finally {
    process.env.XDG_RUNTIME_DIR = saved
  }
})
