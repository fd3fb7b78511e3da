// src/sha256.ts, the plain-JS SHA-256 of the start-up paths, against node:crypto:
// every length across the block and padding boundaries, and text as UTF-8.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {sha256Hex} from '../dist/src/sha256.js'

const expected = (x) => createHash('sha256').update(x).digest('hex')

test('sha256Hex agrees with node:crypto at every length from 0 to 300 bytes, and on a long input', () => {
  for (let n = 0; n <= 300; n++) {
    const data = randomBytes(n)
    assert.equal(sha256Hex(data), expected(data), `${n} bytes`)
  }
  const long = randomBytes(1 << 20)
  assert.equal(sha256Hex(long), expected(long))
})

test('sha256Hex hashes text as its UTF-8 bytes, and knows the standard vectors', () => {
  assert.equal(sha256Hex(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  assert.equal(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'), '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1')
  for (const s of ['/home/user/.local/share/strata', 'é日本 — ☃', 'x'.repeat(119)]) assert.equal(sha256Hex(s), expected(s), s)
})
