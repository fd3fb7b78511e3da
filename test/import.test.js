// Import details beyond fidelity: the digest cache never trusts a changed
// file, an unchanged tree is its layer again, names move between layers,
// id prefixes resolve, and progress shows on a terminal only.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync, utimesSync, statSync} from 'node:fs'
import {spawnSync} from 'node:child_process'
import {sys} from '../dist/src/sys.js'
import {join} from 'node:path'
import {strata, newHome, cleanHome, tmp, listing, scratch, bin} from './helpers.js'
import {tarOf} from './fixtures/tar.js'

test('a file rewritten with the same size and mtime is seen as changed', async (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  const src = tmp('strata-src-')
  const f = join(src, 'data')
  writeFileSync(f, 'A'.repeat(1000))
  const first = strata(home, ['import', src, '--json'])
  assert.equal(first.status, 0, first.stderr)
  const {mtime, atime} = statSync(f)
  writeFileSync(f, 'B'.repeat(1000))
  utimesSync(f, atime, mtime)
  const second = strata(home, ['import', src, '--json'])
  assert.equal(second.status, 0, second.stderr)
  assert.notEqual(second.json.layer.id, first.json.layer.id)
  assert.equal(second.json.layer.bytes.objectsAdded, 1)
  assert.equal(strata(home, ['stack', 'create', 's', second.json.layer.id.slice(0, 10)]).status, 0)
  const r = strata(home, ['run', 's', '--', 'cat', 'data'])
  assert.equal(r.stdout, 'B'.repeat(1000))
})

test('names move between layers; ids resolve by unique prefix', async (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  const a = tmp('strata-src-')
  const b = tmp('strata-src-')
  writeFileSync(join(a, 'f'), 'a')
  writeFileSync(join(b, 'f'), 'b')
  const la = strata(home, ['import', a, '--name', 'app', '--json']).json.layer
  const lb = strata(home, ['import', b, '--name', 'app', '--json'])
  assert.equal(lb.json.nameMovedFrom, la.id)
  assert.equal(lb.stderr, '', 'nothing on stderr under --json')
  const again = strata(home, ['import', a, '--name', 'app'])
  assert.match(again.stderr, /name 'app' moved from layer/)
  strata(home, ['import', b, '--name', 'app'])
  const ia = strata(home, ['layer', 'inspect', la.id.slice(0, 8), '--json']).json
  assert.deepEqual(ia.names, [])
  assert.deepEqual(strata(home, ['layer', 'inspect', 'app', '--json']).json.id, lb.json.layer.id)
})

test('an unchanged tree imported again is its layer at once; any change makes the layer a fresh store makes', async (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  const src = tmp('strata-src-')
  mkdirSync(join(src, 'd'))
  writeFileSync(join(src, 'd', 'big'), 'x'.repeat(5000))
  writeFileSync(join(src, 'small'), 'hi')
  symlinkSync('d/big', join(src, 'link'))
  const first = strata(home, ['import', src, '--json'])
  assert.equal(first.status, 0, first.stderr)
  const before = listing(home)

  const again = strata(home, ['import', src, '--name', 'again', '--json'])
  assert.equal(again.status, 0, again.stderr)
  assert.equal(again.json.existing, true)
  assert.equal(again.json.layer.id, first.json.layer.id)
  assert.deepEqual(again.json.layer.names, ['again'])
  // where names are kept: layer.json, and the layer index (its name links, and its directories, which the first name makes)
  const unnamed = (ls) => ls.filter((l) => !/\/layer\.json f \d+$/.test(l) && !/^index(\/names|\/blobs)? d \d+$/.test(l) && !/^index\/names\/[^/]+ l \d+$/.test(l))
  assert.deepEqual(unnamed(listing(home)), unnamed(before), 'nothing written but the name')

  // each change must be seen: the re-import's layer is the one a fresh store makes of the tree
  const changes = [
    ['an xattr', () => sys.setxattr(join(src, 'd', 'big'), 'user.note', Buffer.from('v'))],
    ['a mode', () => chmodSync(join(src, 'small'), 0o600)],
    ['a new file', () => writeFileSync(join(src, 'd', 'new'), 'new')],
    ['a rename', () => renameSync(join(src, 'd', 'new'), join(src, 'd', 'renamed'))],
    ['a symlink target', () => (unlinkSync(join(src, 'link')), symlinkSync('small', join(src, 'link')))],
    ['a removal', () => unlinkSync(join(src, 'small'))],
  ]
  let prev = first.json.layer.id
  for (const [what, change] of changes) {
    change()
    const r = strata(home, ['import', src, '--json'])
    assert.equal(r.status, 0, r.stderr)
    assert.notEqual(r.json.layer.id, prev, `${what}: a new layer`)
    const fresh = newHome()
    const want = strata(fresh, ['import', src, '--json'])
    cleanHome(fresh)
    assert.equal(r.json.layer.id, want.json.layer.id, `${what}: the layer a fresh store makes`)
    prev = r.json.layer.id
  }
})

test('a source entry that vanishes mid-import is named (conflict, exit 4); nothing is published and the store checks clean', async (t) => {
  const {Home} = await import('../dist/src/store/home.js')
  const {importDir} = await import('../dist/src/import/dir.js')
  // the first small file's progress report removes what the walk hasn't reached: whole
  // directories (their scan fails), or only the files the workers were given to store
  for (const gone of ['directories', 'files', 'files made directories']) {
    const home = newHome()
    t.after(() => cleanHome(home))
    const src = tmp('strata-src-')
    for (let i = 0; i < 20; i++) {
      mkdirSync(join(src, `d${i}`))
      writeFileSync(join(src, `d${i}`, 'small'), `${i}`)
      writeFileSync(join(src, `d${i}`, 'big'), `${i}`.repeat(9000))
    }
    let removed = false
    const onProgress = () => {
      if (removed) return
      removed = true
      for (let i = 0; i < 20; i++) {
        rmSync(join(src, `d${i}`, gone === 'directories' ? '' : 'big'), {recursive: true})
        if (gone === 'files made directories') mkdirSync(join(src, `d${i}`, 'big'))
      }
    }
    await assert.rejects(importDir(new Home(home), src, {onProgress}), (e) => {
      assert.equal(e.code, 'conflict', `${gone}: ${e.stack}`)
      assert.equal(e.exit, 4)
      const what = {directories: '(/big)? changed during the import: it is gone', files: '/big changed during the import: it is gone', 'files made directories': '/big changed during the import: it is no longer what it was'}[gone]
      assert.match(e.message, new RegExp(`^${src}/d\\d+${what}$`))
      assert.match(e.hint, /import a tree nothing is changing/)
      return true
    })
    assert.ok(removed)
    assert.deepEqual(readdirSync(join(home, 'layers')), [], `${gone}: no layer published`)
    assert.deepEqual(readdirSync(join(home, 'tmp')), [], `${gone}: nothing staged is left`)
    const check = strata(home, ['check', '--json'])
    assert.equal(check.status, 0, check.stdout + check.stderr)
  }
})

test('on a terminal, import shows progress (entries, bytes, rate) and erases it before the summary; --json shows none', async (t) => {
  const {home, work} = scratch(t, 'strata-tty-')
  const src = join(work, 'tree')
  mkdirSync(src)
  for (let i = 0; i < 50; i++) writeFileSync(join(src, `f${i}`), `${i}`.repeat(10000))
  writeFileSync(join(work, 't.tar'), tarOf([{name: 'a', data: 'x'.repeat(20000)}]))
  // script(1) gives the command a pseudo-terminal and keeps what it wrote there
  const onTty = (args) => {
    const log = join(work, `tty-${Math.random().toString(16).slice(2)}`)
    const cmd = [process.execPath, bin, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
    const r = spawnSync('script', ['-qec', cmd, log], {env: {...process.env, STRATA_HOME: home}, stdio: ['ignore', 'ignore', 'pipe']})
    assert.equal(r.status, 0, r.stderr.toString())
    return readFileSync(log, 'utf8')
  }
  const MiB = String.raw`[\d.]+ (B|KiB|MiB)`
  const dir = onTty(['import', src, '--name', 'p'])
  // no total while the walk is still finding files: it would grow with the count (issue 18)
  assert.match(dir, new RegExp(String.raw`\r\x1b\[Kimporting: \d+ entries, ${MiB} hashed, ${MiB}/s`))
  assert.doesNotMatch(dir, / of [\d.]+ (B|KiB|MiB) hashed/)
  assert.match(dir, /\r\x1b\[Kimported [0-9a-f]{12} \(p\): 51 entries, 878\.9 KiB/, 'the progress line is erased before the summary')
  const tar = onTty(['import', join(work, 't.tar')])
  assert.match(tar, new RegExp(String.raw`\r\x1b\[Kimporting: \d+ entr(y|ies), ${MiB} read, ${MiB}/s`))
  const json = onTty(['import', src, '--name', 'q', '--json'])
  assert.doesNotMatch(json, /importing:|\x1b/)
  assert.match(json, /"names": \[\s*"p",\s*"q"\s*\]/)
})

test('a tree holding the store is imported without it (and unchanged next time); a tree inside it, or --move of one holding it, is refused', async (t) => {
  const src = tmp('strata-holds-')
  const home = join(src, 'store')
  t.after(() => cleanHome(home))
  mkdirSync(join(src, 'data'))
  writeFileSync(join(src, 'data', 'file'), 'kept beside the store\n'.repeat(10))
  assert.equal(strata(home, ['import', join(src, 'data'), '--name', 'data']).status, 0) // the store exists, and has content
  const r = strata(home, ['import', src, '--name', 'all', '--json'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.json.layer.counts.entries, 3, 'the root, data/ and data/file: nothing of the store')
  const human = strata(home, ['import', src])
  assert.match(human.stdout, /^already imported [0-9a-f]{12} \(all\)/, 'the store changed, the tree did not')
  // (oclif wraps a warning at the terminal's width)
  assert.match(human.stderr.replace(/\s*\n\s*›\s*/g, ' '), new RegExp(`left out the store \\(${home}\\), which is inside ${src}`))
  assert.equal(strata(home, ['stack', 'create', 'box', 'all']).status, 0)
  assert.equal(strata(home, ['run', 'box', '--', 'ls', '-A']).stdout, 'data\n')

  const before = listing(home)
  for (const [args, says] of [
    [['import', join(home, 'layers')], /is inside the store .* — import a directory outside STRATA_HOME/],
    [['import', '--move', src], /the store \(.*\) is inside .*: --move would consume it/],
  ]) {
    const bad = strata(home, args)
    assert.equal(bad.status, 2, bad.stderr)
    assert.match(bad.stderr, says)
  }
  assert.deepEqual(listing(home), before, 'the store is untouched')
  assert.equal(readFileSync(join(src, 'data', 'file'), 'utf8'), 'kept beside the store\n'.repeat(10), '--move consumed nothing')
})
