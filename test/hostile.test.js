// Hostile and damaged archives and image layouts: each is refused with a
// one-line error naming the entry (or blob), the documented exit code, and the
// store exactly as it was (no layer, no object, nothing left in tmp/).
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {writeFileSync, readFileSync, mkdirSync, existsSync} from 'node:fs'
import {join} from 'node:path'
import {createHash} from 'node:crypto'
import {gzipSync} from 'node:zlib'
import {strata, newHome, cleanHome, inNs, tmp, listing, scratch} from './helpers.js'
import {tarOf} from './fixtures/tar.js'

const big = (c) => c.repeat(3000) // over the inline limit: an object would be stored
const sha = (b) => createHash('sha256').update(b).digest('hex')

function ociLayout(dir, layers, {corrupt, missing} = {}) {
  mkdirSync(join(dir, 'blobs', 'sha256'), {recursive: true})
  const put = (b) => {
    const d = sha(b)
    writeFileSync(join(dir, 'blobs', 'sha256', d), b)
    return d
  }
  const descs = layers.map((l) => ({mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: 'sha256:' + put(gzipSync(l)), size: gzipSync(l).length}))
  const config = Buffer.from(JSON.stringify({architecture: 'amd64', os: 'linux', rootfs: {type: 'layers', diff_ids: layers.map((l) => 'sha256:' + sha(l))}}))
  const manifest = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: {mediaType: 'application/vnd.oci.image.config.v1+json', digest: 'sha256:' + put(config), size: config.length}, layers: descs}))
  const m = put(manifest)
  writeFileSync(join(dir, 'index.json'), JSON.stringify({schemaVersion: 2, manifests: [{mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:' + m, size: manifest.length, annotations: {'org.opencontainers.image.ref.name': 'v1'}}]}))
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
  if (corrupt !== undefined) {
    const p = join(dir, 'blobs', 'sha256', descs[corrupt].digest.slice(7))
    const b = readFileSync(p)
    b[b.length - 12] ^= 0xff // inside the gzip trailer's CRC: still a "valid" stream to a lax reader? no: gunzip checks it
    writeFileSync(p, b)
  }
  if (missing !== undefined) inNs(['rm', join(dir, 'blobs', 'sha256', descs[missing].digest.slice(7))])
  return dir
}

test('hostile and damaged archives are refused, naming the entry, and the store is unchanged', async (t) => {
  const home = newHome()
  const work = tmp('strata-hostile-')
  const outside = join(work, 'outside')
  mkdirSync(outside)
  t.after(() => {
    cleanHome(home)
    inNs(['rm', '-rf', work], {allowFail: true})
  })
  // a store with something in it first
  writeFileSync(join(work, 'good.tar'), tarOf([{name: 'ok', data: big('g')}]))
  assert.equal(strata(home, ['import', join(work, 'good.tar')]).status, 0)
  let before = listing(home)

  const longName = Array.from({length: 20}, (_, i) => String(i).padStart(3, '0') + 'x'.repeat(240)).join('/')
  const good = tarOf([{name: 'a', data: big('a')}, {name: 'b', data: big('b')}])
  const cases = [
    ['dotdot', tarOf([{name: 'fine', data: big('1')}, {name: 'sub/../../evil', data: big('e')}]), /refusing entry 'sub\/\.\.\/\.\.\/evil': '\.\.' would leave/, 2],
    ['absolute', tarOf([{name: 'fine', data: big('2')}, {name: '/etc/evil', data: 'x'}]), /refusing entry '\/etc\/evil': absolute name/, 2],
    ['through-symlink', tarOf([{name: 'fine', data: big('3')}, {name: 'l', type: 'symlink', linkname: outside}, {name: 'l/evil', data: big('e')}]), /refusing entry 'l\/evil': its parent 'l' is a symlink/, 2],
    ['through-symlink-dir', tarOf([{name: 'l', type: 'symlink', linkname: outside}, {name: 'l/', type: 'dir'}, {name: 'l/x/evil', data: 'x'}]), null, 0],
    ['hardlink-outside', tarOf([{name: 'fine', data: big('4')}, {name: 'h', type: 'hardlink', linkname: '../../../etc/passwd'}]), /refusing hardlink target '\.\.\/\.\.\/\.\.\/etc\/passwd'/, 2],
    ['hardlink-absolute', tarOf([{name: 'h', type: 'hardlink', linkname: '/etc/passwd'}]), /refusing hardlink target '\/etc\/passwd': absolute/, 2],
    ['hardlink-unseen', tarOf([{name: 'fine', data: big('5')}, {name: 'h', type: 'hardlink', linkname: 'later'}, {name: 'later', data: 'x'}]), /refusing entry 'h': hardlink to 'later', which is not earlier/, 2],
    ['hardlink-dir', tarOf([{name: 'd', type: 'dir'}, {name: 'h', type: 'hardlink', linkname: 'd'}]), /refusing entry 'h': hardlink to the directory 'd'/, 2],
    ['hardlink-through-symlink', tarOf([{name: 'd/f', data: 'x'}, {name: 'd', type: 'symlink', linkname: outside}, {name: 'h', type: 'hardlink', linkname: 'd/f'}]), /hardlink to 'd\/f', which is not earlier/, 2],
    ['path-max', tarOf([{name: 'fine', data: big('6')}, {name: longName, data: 'x'}]), /over PATH_MAX/, 2],
    ['name-max', tarOf([{name: 'y'.repeat(300), data: 'x'}]), /over NAME_MAX/, 2],
    ['truncated', good.subarray(0, 512 + 1000), /truncated \(at entry 'a'\)/, 2],
    ['truncated-header', Buffer.concat([good.subarray(0, 512 * 8), Buffer.alloc(100, 7)]), /truncated/, 2],
    ['corrupt-gzip', (() => {
      const z = gzipSync(good)
      z[Math.floor(z.length / 2)] ^= 0x55
      return z
    })(), /corrupt compressed stream|bad header checksum|truncated/, 2],
    ['not-an-archive', Buffer.from('hello, this is not a tar file at all\n'.repeat(20)), /cannot tell what/, 2],
  ]
  for (const [label, data, message, exit] of cases) {
    const file = join(work, `${label}.tar`)
    writeFileSync(file, data)
    const r = strata(home, ['import', file])
    if (exit === 0) {
      // a symlink replaced by a directory is a fresh directory: contained, nothing lands outside
      assert.equal(r.status, 0, `${label}: ${r.stderr}`)
      assert.deepEqual(inNs(['ls', '-A', outside]).stdout.toString(), '', `${label}: nothing written outside`)
      const id = strata(home, ['layer', 'list', '--json']).json.layers.find((l) => l.source.path === file).id
      assert.equal(strata(home, ['layer', 'rm', id]).status, 0)
      // all but the digest cache's note of what the archive became (a cache: a removed layer is ignored)
      const uncached = (ls) => ls.filter((l) => !l.startsWith('cache/digests/'))
      assert.deepEqual(uncached(listing(home)), uncached(before))
      before = listing(home)
      continue
    }
    assert.equal(r.status, exit, `${label}: exit ${r.status}: ${r.stderr}`)
    const lines = r.stderr.trim().split('\n')
    assert.match(lines[0], /^strata: /, label)
    assert.match(lines[0], message, label)
    assert.ok(lines.length <= 2 && (lines.length === 1 || /^ {2}hint: /.test(lines[1])), `${label}: one line and a hint: ${r.stderr}`)
    assert.deepEqual(listing(home), before, `${label}: the store is unchanged`)
    assert.deepEqual(inNs(['ls', '-A', outside]).stdout.toString(), '', `${label}: nothing written outside`)
    // --json carries the same error
    const j = strata(home, ['import', file, '--json'])
    assert.equal(j.json?.error?.exit, exit, label)
  }
})

test('image layouts with a bad digest or a missing blob are refused; nothing of the image stays', async (t) => {
  const {home, work} = scratch(t, 'strata-hostile-')
  writeFileSync(join(work, 'good.tar'), tarOf([{name: 'ok', data: big('g')}]))
  assert.equal(strata(home, ['import', join(work, 'good.tar')]).status, 0)
  // the layer index's directories are the store's (its first named import builds it, even one that then fails): not the image's
  const store = () => listing(home).filter((l) => !/^index(\/names|\/blobs)? d \d+$/.test(l))
  const before = store()
  const l1 = tarOf([{name: 'base', data: big('1')}])
  const l2 = tarOf([{name: 'top', data: big('2')}])
  const l3 = tarOf([{name: 'third', data: big('3')}])

  // the third layer's blob is damaged after the first two were imported: they go too
  const bad = ociLayout(join(work, 'bad'), [l1, l2, l3], {corrupt: 2})
  let r = strata(home, ['import', bad, '--stack', 'img'])
  assert.equal(r.status, 6, r.stderr)
  assert.match(r.stderr.split('\n')[0], /layer 3 of 3 \(sha256:[0-9a-f]{64}\) does not match its digest|corrupt compressed stream/)
  assert.deepEqual(store(), before, 'no layer, object or stack of the image stays')

  const gone = ociLayout(join(work, 'gone'), [l1, l2, l3], {missing: 1})
  r = strata(home, ['import', gone])
  assert.equal(r.status, 6, r.stderr)
  assert.match(r.stderr.split('\n')[0], /layer 2 of 3 \(sha256:[0-9a-f]{64}\) is missing its blob/)
  assert.deepEqual(store(), before)

  // a blob whose content was swapped for another valid layer: the digest catches it
  const swapped = ociLayout(join(work, 'swapped'), [l1, l2])
  const idx = JSON.parse(readFileSync(join(swapped, 'index.json')))
  const man = JSON.parse(readFileSync(join(swapped, 'blobs', 'sha256', idx.manifests[0].digest.slice(7))))
  writeFileSync(join(swapped, 'blobs', 'sha256', man.layers[1].digest.slice(7)), gzipSync(tarOf([{name: 'evil', data: big('e')}])))
  r = strata(home, ['import', swapped + ':v1'])
  assert.equal(r.status, 6, r.stderr)
  assert.match(r.stderr.split('\n')[0], /layer 2 of 2 .* does not match its digest/)
  assert.deepEqual(store(), before)

  // a tag that isn't there says which are
  r = strata(home, ['import', swapped + ':nope'])
  assert.equal(r.status, 3)
  assert.match(r.stderr, /has no image 'nope' \(it has: v1\)/)
  assert.ok(existsSync(bad))
})
