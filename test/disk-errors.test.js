// A disk quota reached and a disk that fails, for real, on filesystems
// scripts/provision.sh makes: a btrfs subvolume limited to 16 MiB (qgroups:
// this kernel has no ext4 quota format, CONFIG_QFMT_V2) and an ext4 whose loop
// device was cut short under it (this kernel has no device-mapper, so no
// dm-error or dm-flakey), where reading tree/bad is EIO from the block layer.
// An import that meets either exits 5 with one line naming the path, the
// cause and the fix; tmp/ is left empty and `check` finds the store valid.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {randomBytes} from 'node:crypto'
import {join} from 'node:path'
import {strata, inNs, tmp, newHome, cleanHome, holdFilesystem, expectStoreClean} from './helpers.js'

const FS = '/var/lib/strata-test/fs'

function mountedAs(dir, type) {
  const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === dir)
  assert.ok(line, `${dir} is not mounted: run scripts/provision.sh as root (npm test does)`)
  assert.equal(line.split(' - ')[1].split(' ')[0], type, `${dir} is ${type}`)
}

/** A small tree (one file stored as an object): what makes the store before the failing import. */
function smallTree() {
  const d = tmp('strata-disk-small-')
  writeFileSync(join(d, 'small'), 'hello\n')
  writeFileSync(join(d, 'object'), randomBytes(10000))
  return d
}

function expectOneLine(r, re, what) {
  assert.equal(r.status, 5, `${what}: exit ${r.status}\n${r.stderr}`)
  const lines = r.stderr.trim().split('\n')
  assert.equal(lines.length, 1, `${what}: one line: ${r.stderr}`)
  assert.match(lines[0], re, what)
  assert.doesNotMatch(r.stderr, /bug in strata/, what)
}

test('a disk quota reached (btrfs subvolume limited to 16 MiB): import exits 5 with EDQUOT and the path, the store stays valid, and fits again once under it', (t) => {
  const limited = join(FS, 'quota', 'limited')
  mountedAs(join(FS, 'quota'), 'btrfs')
  assert.ok(statSync(limited).uid === process.getuid(), `${limited} must be the test user's: run scripts/provision.sh as root`)
  holdFilesystem(t, limited)
  // what a killed run left counts against the quota: away with it, committed (btrfs accounts at commit)
  for (const n of readdirSync(limited)) inNs(['rm', '-rf', join(limited, n)], {allowFail: true})
  spawnSync('sync', ['-f', limited])
  const home = join(limited, `t-${process.pid}`, 'home')
  mkdirSync(join(limited, `t-${process.pid}`))
  t.after(() => {
    inNs(['rm', '-rf', join(limited, `t-${process.pid}`)], {allowFail: true})
    spawnSync('sync', ['-f', limited])
  })

  assert.equal(strata(home, ['import', smallTree(), '--name', 'small']).status, 0)
  // 24 MiB of distinct content: more than the quota leaves
  const big = tmp('strata-disk-big-')
  for (let i = 0; i < 24; i++) writeFileSync(join(big, `f${i}`), randomBytes(1 << 20))
  const r = strata(home, ['import', big, '--name', 'big'])
  expectOneLine(r, new RegExp(`^strata: disk quota exceeded \\(\\w+ ${home}/[^)]*\\) — free some space within your quota \\(\`strata gc\` removes what nothing uses\\), or choose a store elsewhere \\(STRATA_HOME\\)$`), 'import')
  t.diagnostic(r.stderr.trim())
  expectStoreClean(home, 'after EDQUOT')
  assert.deepEqual(strata(home, ['layer', 'list', '--json']).json.layers.map((l) => l.names), [['small']], 'no layer was published')
  // gc takes the objects the failed import left; half the tree then fits
  assert.equal(strata(home, ['gc']).status, 0)
  spawnSync('sync', ['-f', limited])
  for (let i = 8; i < 24; i++) inNs(['rm', join(big, `f${i}`)])
  const again = strata(home, ['import', big, '--name', 'big'])
  assert.equal(again.status, 0, again.stderr)
  expectStoreClean(home, 'after the import that fit')
})

test('a failing disk (reads past the cut of its loop device are EIO): importing a tree there exits 5 naming the file, the store stays valid', (t) => {
  const tree = join(FS, 'failing', 'tree')
  mountedAs(join(FS, 'failing'), 'ext4')
  // the disk fails where provisioning said: the good file reads, the bad one is an I/O error
  assert.equal(readFileSync(join(tree, 'good'), 'utf8'), 'a good block\n')
  assert.throws(() => readFileSync(join(tree, 'bad')), {code: 'EIO'})
  const home = newHome()
  t.after(() => cleanHome(home))
  assert.equal(strata(home, ['import', smallTree(), '--name', 'small']).status, 0)
  const r = strata(home, ['import', tree, '--name', 'failing'])
  expectOneLine(r, new RegExp(`^strata: input/output error \\(read ${tree}/bad\\) — the disk or filesystem there is failing \\(the kernel log says .*\\): .*then run \`strata check\`$`), 'import')
  const j = strata(home, ['import', tree, '--name', 'failing', '--json'])
  assert.equal(j.status, 5)
  assert.deepEqual(j.json.error, {code: 'environment', message: `input/output error (read ${tree}/bad)`, hint: j.json.error.hint, exit: 5})
  expectStoreClean(home, 'after EIO')
  assert.deepEqual(strata(home, ['layer', 'list', '--json']).json.layers.map((l) => l.names), [['small']], 'no layer was published')
})
