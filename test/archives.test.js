// Image archives: the umoci-built image of test/oci.test.js, copied by skopeo
// into an oci-archive and a docker-archive, imports to the same layers and the
// same merged view as the OCI layout itself; a damaged docker-archive layer
// fails as an integrity error and leaves the store as it was.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {openSync, readSync, writeSync, closeSync, copyFileSync, mkdirSync, writeFileSync, readdirSync, readFileSync, existsSync} from 'node:fs'
import {join} from 'node:path'
import {createHash} from 'node:crypto'
import {strata, newHome, cleanHome, inNs, tmp, root, listing} from './helpers.js'

const scan = join(root, 'test', 'fixtures', 'scan.js')

/** The merged view of a stack, entry by entry (inode numbers and the root, which is the upper, left out). */
function mergedView(home, stack) {
  const r = strata(home, ['run', stack, '--', process.execPath, scan, '.'])
  assert.equal(r.status, 0, r.stderr)
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((e) => e.path !== '')
    .map(({ino: _, ...e}) => e)
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

/** Offset and size of an entry's data in a plain tar (short ustar names: skopeo writes them). */
function tarEntry(file, wanted) {
  const fd = openSync(file, 'r')
  const h = Buffer.alloc(512)
  try {
    for (let off = 0; readSync(fd, h, 0, 512, off) === 512 && h.some((b) => b !== 0); ) {
      const name = h.subarray(0, 100).toString('latin1').replace(/\0.*$/s, '')
      const size = parseInt(h.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim(), 8)
      if (name === wanted) return {offset: off + 512, size}
      off += 512 + Math.ceil(size / 512) * 512
    }
  } finally {
    closeSync(fd)
  }
  throw new Error(`${wanted} is not in ${file}`)
}

test('oci-archive and docker-archive import to the layers and merged view of the OCI layout', async (t) => {
  const work = tmp('strata-archives-')
  const homes = [newHome(), newHome(), newHome(), newHome(), newHome()]
  t.after(() => homes.forEach(cleanHome))
  inNs(['bash', join(root, 'test', 'fixtures', 'make-image.sh'), work])
  const img = join(work, 'img')
  const ociTar = join(work, 'img-oci.tar')
  const dockerTar = join(work, 'img-docker.tar')
  inNs(['skopeo', '--insecure-policy', 'copy', '-q', `oci:${img}:v3`, `oci-archive:${ociTar}:v3`])
  inNs(['skopeo', '--insecure-policy', 'copy', '-q', `oci:${img}:v3`, `docker-archive:${dockerTar}:img:v3`])
  inNs(['sh', '-c', 'zstd -q -o "$1.zst" "$1"', 'sh', dockerTar])

  const [hLayout, hOci, hDocker, hZst] = homes
  const direct = strata(hLayout, ['import', `${img}:v3`, '--stack', 'img', '--json'])
  assert.equal(direct.status, 0, direct.stderr)
  const ids = direct.json.layers.map((l) => l.layer.id)
  assert.equal(ids.length, 3)
  const want = mergedView(hLayout, 'img')
  assert.ok(want.length >= 18, `${want.length} entries`)

  const oci = strata(hOci, ['import', ociTar, '--stack', 'img', '--json'])
  assert.equal(oci.status, 0, oci.stderr)
  assert.equal(oci.json.format, 'oci-archive')
  assert.equal(oci.json.image.tag, 'v3')
  assert.equal(oci.json.image.layout, ociTar)
  assert.deepEqual(oci.json.layers.map((l) => l.layer.id), ids, 'the same layer ids as the layout')
  assert.deepEqual(oci.json.stack.layers, ids)
  assert.deepEqual(readdirSync(join(hOci, 'tmp')), [], 'the staging directory is gone')
  assert.deepEqual(mergedView(hOci, 'img'), want, 'the oci-archive merges as the layout does')

  const docker = strata(hDocker, ['import', `${dockerTar}:img:v3`, '--stack', 'img', '--name', 'img-top', '--json'])
  assert.equal(docker.status, 0, docker.stderr)
  assert.equal(docker.json.format, 'docker-archive')
  assert.match(docker.json.image.tag, /(^|\/)img:v3$/)
  assert.match(docker.json.image.manifest, /^sha256:[0-9a-f]{64}$/)
  assert.deepEqual(docker.json.layers.map((l) => l.layer.id), ids, 'the same layer ids as the layout')
  assert.deepEqual(docker.json.layers[0].layer.names, ['img-top'])
  assert.equal(docker.json.layers[0].layer.source.path.startsWith(dockerTar + '@sha256:'), true, 'layer.json names the archive')
  assert.deepEqual(readdirSync(join(hDocker, 'tmp')), [])
  assert.deepEqual(mergedView(hDocker, 'img'), want, 'the docker-archive merges as the layout does')

  // compressed archives are told by content too; a tag that isn't there is named with those that are
  const zst = strata(hZst, ['import', dockerTar + '.zst', '--json'])
  assert.equal(zst.status, 0, zst.stderr)
  assert.equal(zst.json.format, 'docker-archive')
  assert.deepEqual(zst.json.layers.map((l) => l.layer.id), ids)
  const missing = strata(hZst, ['import', `${dockerTar}:img:nope`])
  assert.equal(missing.status, 3, missing.stderr)
  assert.match(missing.stderr, /has no image 'img:nope' \(it has: .*img:v3\)/)
  // a plain layer tar is still a layer
  const layerTar = join(work, 'layer.tar')
  assert.equal(strata(hLayout, ['layer', 'export', ids[0], '-o', layerTar]).status, 0)
  const lt = strata(hZst, ['import', layerTar, '--json'])
  assert.equal(lt.status, 0, lt.stderr)
  assert.equal(lt.json.format, 'tar')
  assert.equal(lt.json.layer.id, ids[0])
})

/** For the damaged-archive tests: skopeo's docker-archive of the fixture image, and a store holding one other layer. */
function dockerArchiveAndStore(t, prefix) {
  const work = tmp(prefix)
  const home = newHome()
  t.after(() => cleanHome(home))
  inNs(['bash', join(root, 'test', 'fixtures', 'make-image.sh'), work])
  const good = join(work, 'good.tar')
  inNs(['skopeo', '--insecure-policy', 'copy', '-q', `oci:${join(work, 'img')}:v3`, `docker-archive:${good}:img:v3`])
  const tree = join(work, 'tree')
  mkdirSync(tree)
  writeFileSync(join(tree, 'f'), 'x'.repeat(100))
  assert.equal(strata(home, ['import', tree, '--name', 'base']).status, 0)
  return {work, home, good}
}

test('a damaged docker-archive layer fails with exit 6 and publishes nothing', async (t) => {
  const {work, home, good} = dockerArchiveAndStore(t, 'strata-archives-bad-')
  const manifest = JSON.parse(inNs(['tar', '-xOf', good, 'manifest.json']).stdout.toString())
  const bad = join(work, 'bad.tar')
  copyFileSync(good, bad)
  // the top layer: the two below it are new in this store, and must go too
  const {offset, size} = tarEntry(bad, manifest[0].Layers[2])
  const fd = openSync(bad, 'r+')
  const at = offset + size - 1536 // file data near the end of the layer, not a header
  const b = Buffer.alloc(1)
  readSync(fd, b, 0, 1, at)
  writeSync(fd, Buffer.from([b[0] ^ 0xff]), 0, 1, at)
  closeSync(fd)

  const before = listing(home)
  const r = strata(home, ['import', bad, '--stack', 'img', '--name', 'top'])
  assert.equal(r.status, 6, r.stderr)
  assert.match(r.stderr, new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: layer 3 of 3 .*does not match`))
  assert.deepEqual(listing(home), before, 'the store is as it was')
  assert.equal(existsSync(join(home, 'stacks', 'img')), false)
})

test('a docker-archive layer that is a good tar but not the one its config names fails with exit 6 and publishes nothing', async (t) => {
  const {work, home, good} = dockerArchiveAndStore(t, 'strata-archives-diffid-')
  // unpacked, the config's last diff id changed (the config renamed by its new digest), packed again as `tar -C DIR .` does
  const dir = join(work, 'unpacked')
  mkdirSync(dir)
  inNs(['tar', '-xf', good, '-C', dir])
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'))
  const config = JSON.parse(readFileSync(join(dir, manifest[0].Config), 'utf8'))
  const wrong = 'sha256:' + '0'.repeat(64)
  config.rootfs.diff_ids[2] = wrong
  const edited = Buffer.from(JSON.stringify(config))
  const name = createHash('sha256').update(edited).digest('hex') + '.json'
  inNs(['sh', '-c', 'cat > "$1"', 'sh', join(dir, name)], {input: edited, stdio: ['pipe', 'pipe', 'pipe']})
  manifest[0].Config = name
  inNs(['sh', '-c', 'cat > "$1"', 'sh', join(dir, 'manifest.json')], {input: JSON.stringify(manifest), stdio: ['pipe', 'pipe', 'pipe']})
  const bad = join(work, 'bad.tar')
  inNs(['tar', '-cf', bad, '-C', dir, '.'])

  const before = listing(home)
  const r = strata(home, ['import', bad, '--stack', 'img'])
  assert.equal(r.status, 6, r.stderr)
  assert.match(r.stderr, new RegExp(`layer 3 of 3 .*does not match the config's diff id ${wrong}`))
  assert.deepEqual(listing(home), before, 'the store is as it was: the two layers below went too')
  assert.equal(existsSync(join(home, 'stacks', 'img')), false)
})
