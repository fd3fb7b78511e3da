// A full disk: stores on two small filesystems (a tmpfs and a loop-mounted
// ext4, which scripts/provision.sh mounts for the test user) are filled to
// leave less room than an import or a commit needs, at many points, so that
// the disk runs out at different moments of it. Every time: exit 5 naming
// "no space left on device", the path and the fix, on one line; nothing
// under tmp/; `check` clean; and, room made again, the command succeeds.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {existsSync, mkdirSync, readdirSync, statSync, statfsSync, writeFileSync} from 'node:fs'
import {spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {join} from 'node:path'
import {strata, inNs, tmp, holdFilesystem, expectStoreClean} from './helpers.js'
import {Home} from '../dist/src/store/home.js'

const SMALL = '/var/lib/strata-test'
// what is left free, as a share of what the command's data needs: from almost nothing to almost enough
const POINTS = [0.01, 0.15, 0.35, 0.55, 0.75, 0.92]

/**
 * The tree to import: per directory, 40 files of 300 KB sharing 5 contents
 * (stored once: the workers spend their time hashing them and writing their
 * stubs into the staging tree), 100 inline files (written by the main thread,
 * a page or block each) and one 200 KB file. The disk then often runs out on
 * the main thread while workers still write stubs: the clean-up must wait for
 * them (it did not: ENOTEMPTY, exit 1, staging left). Returns the content's
 * bytes and what storing it needs (distinct content, a block per inline file).
 */
function importTree(dir) {
  const shared = Array.from({length: 5}, () => randomBytes(300000))
  let bytes = 0
  let need = 5 * 300000
  for (let d = 0; d < 12; d++) {
    mkdirSync(join(dir, `d${d}`))
    for (let i = 0; i < 100; i++) {
      const inline = Buffer.from(`inline ${d} ${i}\n`)
      writeFileSync(join(dir, `d${d}`, `i${i}`), inline)
      bytes += inline.length
      need += 4096
      if (i >= 40) continue
      writeFileSync(join(dir, `d${d}`, `s${i}`), shared[i % 5])
      bytes += 300000
    }
    writeFileSync(join(dir, `d${d}`, 'big'), randomBytes(200000))
    bytes += 200000
    need += 200000
  }
  return {bytes, need}
}

/** A tree of random (incompressible, all distinct) files: a few large, many small, some inline; bytes of data. */
function sourceTree(dir, seed) {
  let bytes = 0
  for (let d = 0; d < 8; d++) {
    mkdirSync(join(dir, `d${d}`, 'sub'), {recursive: true})
    for (let i = 0; i < 60; i++) {
      const size = i % 3 === 0 ? 40 : 3000 + ((i * 7919 + d * 104729 + seed) % 40000)
      writeFileSync(join(dir, `d${d}`, i % 2 ? 'sub' : '', `f${i}`), randomBytes(size))
      bytes += size
    }
    const big = 1500000 + d * 100000
    writeFileSync(join(dir, `d${d}`, 'big'), randomBytes(big))
    bytes += big
  }
  return bytes
}

const free = (dir) => {
  const s = statfsSync(dir)
  return s.bavail * s.bsize
}

/** Leaves about room bytes free on the filesystem of dir, with one filler file. */
function fill(dir, room) {
  const filler = join(dir, 'filler')
  const size = free(dir) - room
  if (size <= 0) return
  const r = spawnSync('fallocate', ['-l', String(size), filler])
  assert.equal(r.status, 0, `fallocate: ${r.stderr}`)
}

function unfill(dir) {
  inNs(['rm', '-f', join(dir, 'filler')])
}

function expectNoSpace(t, r, what) {
  assert.equal(r.status, 5, `${what}: exit ${r.status}\n${r.stderr}`)
  const lines = r.stderr.trim().split('\n')
  assert.equal(lines.length, 1, `${what}: one line: ${r.stderr}`)
  assert.match(lines[0], /no space left on device \(\w+ \/var\/lib\/strata-test\/small-/, what)
  assert.match(lines[0], / — free some space/, what)
  assert.doesNotMatch(r.stderr, /bug in strata/, what)
  t.diagnostic(`${what}: ${lines[0]}`) // where the disk ran out, this time
}

for (const fs of ['small-tmpfs', 'small-ext4']) {
  const mount = join(SMALL, fs)

  test(`full disk (${fs}): import fails with exit 5 wherever the disk runs out, and leaves nothing`, (t) => {
    assert.ok(existsSync(mount) && statSync(mount).uid === process.getuid(), `${mount} must be a filesystem of the test user's: run scripts/provision.sh as root`)
    holdFilesystem(t, mount)
    const src = tmp('strata-fulldisk-src-')
    const {bytes, need} = importTree(src)
    const home = join(mount, 'store')
    t.after(() => inNs(['rm', '-rf', home, join(mount, 'filler'), src]))
    assert.ok(free(mount) > need * 2, `${fs} has room for the import twice`)
    for (const share of POINTS) {
      const what = `import into ${fs} with ${Math.round(share * 100)}% of its data's room`
      inNs(['rm', '-rf', home])
      new Home(home).ensure() // the store, empty (its skeleton, as the first import makes it)
      fill(mount, Math.floor(need * share))
      const r = strata(home, ['import', src, '--name', 'big'])
      expectNoSpace(t, r, what)
      expectStoreClean(home, what)
      assert.equal(strata(home, ['layer', 'inspect', 'big']).status, 3, `${what}: no layer`)
      unfill(mount)
    }
    // room made again, the same store takes the import
    const r = strata(home, ['import', src, '--name', 'big', '--json'])
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.json.layer.bytes.content, bytes)
    expectStoreClean(home, 'import with room')
  })

  test(`full disk (${fs}): commit fails with exit 5 wherever the disk runs out, the upper intact`, (t) => {
    assert.ok(existsSync(mount) && statSync(mount).uid === process.getuid(), `${mount} must be a filesystem of the test user's: run scripts/provision.sh as root`)
    holdFilesystem(t, mount)
    const base = tmp('strata-fulldisk-base-')
    writeFileSync(join(base, 'readme'), 'the base layer\n')
    const home = join(mount, 'store')
    t.after(() => inNs(['rm', '-rf', home, join(mount, 'filler')]))
    inNs(['rm', '-rf', home])
    assert.equal(strata(home, ['import', base, '--name', 'base']).status, 0)
    assert.equal(strata(home, ['stack', 'create', 'S', 'base']).status, 0)
    // the changes, written through the mounted stack into its upper
    const upper = join(home, 'stacks', 'S', 'upper')
    const made = tmp('strata-fulldisk-changes-')
    const bytes = sourceTree(made, 2)
    const r0 = strata(home, ['run', 'S', '--', 'cp', '-a', `${made}/.`, '.'])
    assert.equal(r0.status, 0, r0.stderr)
    const before = inNs(['sh', '-c', 'cd "$1" && find . -type f -exec sha256sum {} + | sort', 'sh', upper]).stdout.toString()
    for (const share of POINTS) {
      const what = `commit in ${fs} with ${Math.round(share * 100)}% of its data's room`
      fill(mount, Math.floor(bytes * share))
      const r = strata(home, ['commit', 'S'])
      expectNoSpace(t, r, what)
      expectStoreClean(home, what)
      unfill(mount)
      // all or nothing: the stack is as it was, its upper holding every change
      const s = strata(home, ['stack', 'inspect', 'S', '--json'])
      assert.equal(s.json.layers.length, 1, what)
      assert.equal(inNs(['sh', '-c', 'cd "$1" && find . -type f -exec sha256sum {} + | sort', 'sh', upper]).stdout.toString(), before, what)
      // what the failed commit stored, nothing refers to: gc takes it back
      assert.equal(strata(home, ['gc']).status, 0, what)
    }
    const r = strata(home, ['commit', 'S', '--json'])
    assert.equal(r.status, 0, r.stderr)
    assert.ok(r.json.changes > 0)
    expectStoreClean(home, 'commit with room')
    assert.equal(strata(home, ['run', 'S', '--', 'cmp', `${made}/d3/big`, 'd3/big']).status, 0, 'the committed stack reads back')
  })
}
