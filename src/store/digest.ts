// fs-verity SHA-256 digests (what `fsverity digest` prints): a Merkle tree of
// 4 KiB blocks, no salt, whose root goes into a 256-byte descriptor that is
// hashed once more. Streaming, so a file is read once in any chunk sizes.
// The data blocks are hashed natively (sys.hashBlocks); the tree above them here.
import * as crypto from 'node:crypto'
import {closeSync, openSync, readSync} from 'node:fs'
import {sys} from '../sys.js'

const BLOCK = 4096
const HASH = 32
// one-shot crypto.hash (node ≥ 20.12) spares an object per 4 KiB block: a third faster.
// Chosen at the first hash, not when this module loads: the start-up bundles
// load node:crypto only when it is used (scripts/bundle.js).
let sha256Of: ((b: Buffer) => Buffer) | undefined
const sha256 = (b: Buffer) => (sha256Of ??= pickSha256())(b)
function pickSha256(): (b: Buffer) => Buffer {
  const oneShot = (crypto as {hash?: (alg: string, data: Buffer, enc: 'buffer') => Buffer}).hash
  return oneShot ? (b) => oneShot('sha256', b, 'buffer') : (b) => crypto.createHash('sha256').update(b).digest()
}

export class VerityHasher {
  private size = 0
  private partial = Buffer.alloc(BLOCK)
  private partialLen = 0
  // levels[i]: a block being filled with hashes of level i (i = 0: data blocks)
  private levels: {block: Buffer; fill: number; count: number}[] = []
  private hashes = Buffer.allocUnsafe(HASH * 256)

  update(chunk: Buffer): this {
    this.size += chunk.length
    let off = 0
    if (this.partialLen > 0) {
      const n = Math.min(BLOCK - this.partialLen, chunk.length)
      chunk.copy(this.partial, this.partialLen, 0, n)
      this.partialLen += n
      off = n
      if (this.partialLen === BLOCK) {
        this.addDataBlocks(this.partial)
        this.partialLen = 0
      }
    }
    const whole = Math.floor((chunk.length - off) / BLOCK) * BLOCK
    if (whole > 0) {
      this.addDataBlocks(chunk.subarray(off, off + whole))
      off += whole
    }
    if (off < chunk.length) {
      chunk.copy(this.partial, 0, off)
      this.partialLen = chunk.length - off
    }
    return this
  }

  private addDataBlocks(blocks: Buffer) {
    // the data blocks' hashes, natively (most of the work), 256 blocks at a time
    const step = (this.hashes.length / HASH) * BLOCK
    for (let off = 0; off < blocks.length; off += step) {
      const part = blocks.subarray(off, Math.min(off + step, blocks.length))
      const n = part.length / BLOCK
      sys.hashBlocks(part, this.hashes)
      for (let i = 0; i < n; i++) this.push(0, this.hashes.subarray(i * HASH, (i + 1) * HASH))
    }
  }

  private push(level: number, hash: Buffer) {
    const l = (this.levels[level] ??= {block: Buffer.alloc(BLOCK), fill: 0, count: 0})
    hash.copy(l.block, l.fill)
    l.fill += HASH
    l.count++
    if (l.fill === BLOCK) {
      l.fill = 0
      this.push(level + 1, sha256(l.block))
    }
  }

  /** The 32-byte digest. */
  digest(): Buffer {
    if (this.partialLen > 0) {
      this.partial.fill(0, this.partialLen)
      this.addDataBlocks(this.partial)
      this.partialLen = 0
    }
    const root = Buffer.alloc(64)
    if (this.size > 0) {
      for (let level = 0; ; level++) {
        const l = this.levels[level]
        if (l.count === 1 && (this.levels[level + 1]?.count ?? 0) === 0) {
          l.block.copy(root, 0, 0, HASH)
          break
        }
        if (l.fill > 0) {
          // the level's last block, padded with zeros
          l.block.fill(0, l.fill)
          l.fill = 0
          this.push(level + 1, sha256(l.block))
        }
      }
    }
    const desc = Buffer.alloc(256)
    desc[0] = 1 // version
    desc[1] = 1 // FS_VERITY_HASH_ALG_SHA256
    desc[2] = 12 // log2(block size)
    desc[3] = 0 // salt size
    desc.writeBigUInt64LE(BigInt(this.size), 8)
    root.copy(desc, 16, 0, 64)
    return sha256(desc)
  }
}

export const verityDigest = (data: Buffer): Buffer => new VerityHasher().update(data).digest()

export const isDigestHex = (s: string) => /^[0-9a-f]{64}$/.test(s)

/** A file's plain SHA-256 (hex) and size: what OCI descriptors and inline entries name it by. */
export function fileSha256(p: string | Buffer): {hex: string; size: number} {
  const h = crypto.createHash('sha256')
  const fd = openSync(p, 'r')
  const buf = Buffer.allocUnsafe(1 << 20)
  let size = 0
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; size += n) h.update(buf.subarray(0, n))
  } finally {
    closeSync(fd)
  }
  return {hex: h.digest('hex'), size}
}
