// fs-verity digests: the same as `fsverity digest` (Debian's fsverity) prints,
// at every size where the Merkle tree changes shape.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {randomBytes} from 'node:crypto'
import {join} from 'node:path'
import {VerityHasher, verityDigest} from '../dist/src/store/digest.js'
import {tmp} from './helpers.js'

const B = 4096
const sizes = [0, 1, B - 1, B, B + 1, 128 * B, 128 * B + 1, 128 * 128 * B, 128 * 128 * B + 1]

test('digests match fsverity digest, whole and streamed in odd chunks', () => {
  const dir = tmp('strata-digest-')
  for (const size of sizes) {
    const data = size > 1 << 20 ? Buffer.concat([randomBytes(1 << 20), Buffer.alloc(size - (1 << 20))]) : randomBytes(size)
    const f = join(dir, `f${size}`)
    writeFileSync(f, data)
    const r = spawnSync('fsverity', ['digest', '--compact', f], {encoding: 'utf8'})
    assert.equal(r.status, 0, r.stderr)
    const want = r.stdout.trim()
    assert.equal(verityDigest(data).toString('hex'), want, `size ${size}`)
    const h = new VerityHasher()
    for (let off = 0; off < data.length; off += 7919) h.update(data.subarray(off, off + 7919))
    assert.equal(h.digest().toString('hex'), want, `size ${size}, streamed`)
  }
})

test('fileSha256 is sha256sum of the file, with its size', async () => {
  const {fileSha256} = await import('../dist/src/store/digest.js')
  const dir = tmp('strata-sha-')
  for (const size of [0, 1, (1 << 20) + 7]) {
    const f = join(dir, `f${size}`)
    writeFileSync(f, randomBytes(size))
    const want = spawnSync('sha256sum', [f], {encoding: 'utf8'}).stdout.split(' ')[0]
    assert.deepEqual(fileSha256(f), {hex: want, size})
  }
})
