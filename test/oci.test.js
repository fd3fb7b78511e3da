// Real images built by umoci (and a layer by GNU tar) from a small root
// filesystem: three layers with deletions and an opaque directory. strata's
// merged view must equal `umoci unpack --rootless` entry by entry; export →
// re-import gives the same layer ids; skopeo and umoci accept the export.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {join} from 'node:path'
import {strata, newHome, cleanHome, inNs, tmp, root, scratch} from './helpers.js'
import {compare, umociView} from './fixtures/umoci-view.js'

const scan = join(root, 'test', 'fixtures', 'scan.js')
const parse = (out) => out.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l))

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, {stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28, ...opts})
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`)
  return r
}

test('an umoci-built image imports layer by layer and merges exactly as umoci unpacks it', async (t) => {
  const {home, work} = scratch(t, 'strata-oci-')
  inNs(['bash', join(root, 'test', 'fixtures', 'make-image.sh'), work])
  const img = join(work, 'img')

  // four images in the index: a tag is needed, and the error names them
  const none = strata(home, ['import', img])
  assert.equal(none.status, 2)
  assert.match(none.stderr, /holds 4 images: v0, v1, v2, v3/)

  const r = strata(home, ['import', `${img}:v3`, '--stack', 'img', '--name', 'img-top', '--json'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.json.format, 'oci')
  assert.equal(r.json.image.tag, 'v3')
  assert.equal(r.json.layers.length, 3)
  const ids = r.json.layers.map((l) => l.layer.id)
  assert.deepEqual(r.json.stack.layers, ids, 'the stack lists the layers top first')
  assert.deepEqual(r.json.layers[0].layer.names, ['img-top'])
  assert.equal(r.json.layers[1].layer.counts.whiteouts, 2, 'layer 2 deletes a file and a directory')

  // ids computed from what the import wrote are the trees' own (whiteouts, opaque dirs, links)
  assert.equal(strata(home, ['check', '--quick']).status, 0)

  // v2 shares its two layers with v3: nothing new is stored
  const v2 = strata(home, ['import', `${img}:v2`, '--json'])
  assert.equal(v2.status, 0, v2.stderr)
  assert.deepEqual(v2.json.layers.map((l) => l.layer.id), ids.slice(1))
  assert.ok(v2.json.layers.every((l) => l.existing))

  // layers whose objects went missing are imported again (not taken as known), which restores them
  inNs(['sh', '-c', 'rm -rf "$1"/*', 'sh', join(home, 'objects')])
  assert.equal(strata(home, ['check', '--quick']).status, 6)
  const again = strata(home, ['import', `${img}:v3`, '--json'])
  assert.equal(again.status, 0, again.stderr)
  assert.deepEqual(again.json.layers.map((l) => l.layer.id), ids)
  assert.equal(strata(home, ['check', '--quick']).status, 0, 'importing the image again restored its objects')

  run('umoci', ['unpack', '--rootless', '--image', `${img}:v3`, join(work, 'unpacked')])
  const want = umociView(join(work, 'unpacked', 'rootfs'))
  const merged = strata(home, ['run', 'img', '--', process.execPath, scan, '.'])
  assert.equal(merged.status, 0, merged.stderr)
  const got = parse(merged.stdoutBuf)
  const paths = got.map((e) => Buffer.from(e.path, 'hex').toString())
  for (const gone of ['etc/old', 'var/cache/sub', 'opq/old', 'opq/top']) assert.ok(!paths.includes(gone), `${gone} is deleted`)
  for (const kept of ['opq/new', 'late', 'usr/bin/new', 'home/u/notes']) assert.ok(paths.includes(kept), `${kept} is there`)
  const n = compare(got, want, 'import')
  assert.ok(n >= 18, `compared ${n} entries`)
  const notes = got.find((e) => Buffer.from(e.path, 'hex').toString() === 'home/u/notes')
  assert.deepEqual([notes.uid, notes.gid], [1000, 1000], 'owners other than root are kept')
  assert.equal(got.find((e) => Buffer.from(e.path, 'hex').toString() === 'usr/bin/tool').mode, '4755')

  // export → the layout is valid for skopeo and umoci, and re-imports to the same ids
  for (const gzip of [false, true]) {
    const out = join(work, gzip ? 'exp-gz' : 'exp')
    const ex = strata(home, ['stack', 'export', 'img', '--oci', `${out}:again`, ...(gzip ? ['--gzip'] : []), '--json'])
    assert.equal(ex.status, 0, ex.stderr)
    assert.deepEqual(ex.json.layers.map((l) => l.id), ids)
    const inspect = JSON.parse(run('skopeo', ['inspect', `oci:${out}:again`]).stdout.toString())
    assert.equal(inspect.Layers.length, 3)
    assert.deepEqual(inspect.Layers, ex.json.layers.map((l) => l.digest).reverse())
    run('umoci', ['unpack', '--rootless', '--image', `${out}:again`, join(work, `unpacked-${gzip}`)])
    compare(umociView(join(work, `unpacked-${gzip}`, 'rootfs')), want, `umoci unpack of the export (gzip ${gzip})`)

    const home2 = newHome()
    t.after(() => cleanHome(home2))
    const back = strata(home2, ['import', `${out}:again`, '--json'])
    assert.equal(back.status, 0, back.stderr)
    assert.deepEqual(back.json.layers.map((l) => l.layer.id), ids, 'export then import gives the same layer ids')
  }

  // a single layer: export to a tar and back
  const tarFile = join(work, 'layer2.tar')
  const le = strata(home, ['layer', 'export', ids[1], '-o', tarFile, '--json'])
  assert.equal(le.status, 0, le.stderr)
  const list = run('tar', ['-tvf', tarFile]).stdout.toString()
  assert.match(list, /etc\/\.wh\.old/)
  assert.match(list, /var\/cache\/\.wh\.sub/)
  const lt = strata(home, ['layer', 'export', ids[0], '-o', join(work, 'layer3.tar')])
  assert.equal(lt.status, 0, lt.stderr)
  assert.match(run('tar', ['-tvf', join(work, 'layer3.tar')]).stdout.toString(), /opq\/\.wh\.\.wh\.\.opq/)
  const home3 = newHome()
  t.after(() => cleanHome(home3))
  const li = strata(home3, ['import', tarFile, '--json'])
  assert.equal(li.status, 0, li.stderr)
  assert.equal(li.json.layer.id, ids[1])
})
