// A streaming tar reader that keeps every byte: names, link targets and PAX
// values stay Buffers (tar-stream decodes PAX records as UTF-8, which mangles
// binary xattr values and non-UTF-8 names, and it knows no sparse files).
// Reads ustar, GNU (long names 'L'/'K', old sparse 'S', base-256 numbers) and
// PAX (path, linkpath, size, mtime to the ns, uid/gid, SCHILY.xattr.*, GNU
// sparse 0.1 and 1.0). Each entry's data is handed out as a stream of chunks,
// sparse files already expanded: the archive is read once, in order.

export type TarType = 'file' | 'hardlink' | 'symlink' | 'chardev' | 'blockdev' | 'dir' | 'fifo' | 'other'

export interface TarEntry {
  name: Buffer // as the archive has it (not yet normalized)
  type: TarType
  typeflag: string
  mode: number
  uid: number
  gid: number
  mtimeNs: bigint
  atimeNs?: bigint
  size: number // the file's size (a sparse file's real size)
  linkname: Buffer
  devmajor: number
  devminor: number
  xattrs: [string, Buffer][] // SCHILY.xattr.*, in archive order
}

/** Reads the entry's data: call once, consume fully or not at all. */
export type DataReader = () => AsyncGenerator<Buffer>

export class TarFormatError extends Error {
  constructor(message: string, readonly entry?: string) {
    super(message)
  }
}

const BLOCK = 512
const ZERO_BLOCK = Buffer.alloc(BLOCK)
const NO_PAX = new Map<string, Buffer>()
const USTAR = Buffer.from('ustar')
const GNU_MAGIC = Buffer.from('ustar  \0')

/** Pulls exact byte counts out of a chunked async source. */
export class ByteSource {
  private chunks: Buffer[] = []
  private avail = 0
  private done = false
  private it: AsyncIterator<Buffer>
  offset = 0 // bytes consumed

  constructor(src: AsyncIterable<Buffer>) {
    this.it = src[Symbol.asyncIterator]()
  }

  private async fill(n: number): Promise<boolean> {
    while (this.avail < n && !this.done) {
      const r = await this.it.next()
      if (r.done) this.done = true
      else if (r.value.length) {
        this.chunks.push(r.value)
        this.avail += r.value.length
      }
    }
    return this.avail >= n
  }

  /** Exactly n bytes, or null at a clean end (nothing left); throws when cut short. */
  async read(n: number): Promise<Buffer | null> {
    if (!(await this.fill(n))) {
      if (this.avail === 0) return null
      throw new TarFormatError('the archive is truncated')
    }
    return this.take(n)
  }

  private take(n: number): Buffer {
    this.avail -= n
    this.offset += n
    const first = this.chunks[0]
    if (first.length === n) return this.chunks.shift()!
    if (first.length > n) {
      this.chunks[0] = first.subarray(n)
      return first.subarray(0, n)
    }
    const out = Buffer.allocUnsafe(n)
    let off = 0
    while (off < n) {
      const c = this.chunks[0]
      const k = Math.min(c.length, n - off)
      c.copy(out, off, 0, k)
      off += k
      if (k === c.length) this.chunks.shift()
      else this.chunks[0] = c.subarray(k)
    }
    return out
  }

  /** Up to max bytes (at least one), as they come: no copying of large chunks. */
  async some(max: number): Promise<Buffer> {
    if (!(await this.fill(1))) throw new TarFormatError('the archive is truncated')
    return this.take(Math.min(max, this.chunks[0].length))
  }

  async skip(n: number) {
    while (n > 0) n -= (await this.some(Math.min(n, 1 << 20))).length
  }

  /** Reads to the end (so a caller hashing the raw stream sees all of it). */
  async drain() {
    while (await this.fill(1)) this.take(this.chunks[0].length)
  }
}

const str = (b: Buffer) => {
  const z = b.indexOf(0)
  return z < 0 ? b : b.subarray(0, z)
}

function num(b: Buffer, field: string): number {
  if (b[0] & 0x80) {
    // GNU base-256: big-endian two's complement
    let v = BigInt(b[0] & 0x7f) - (b[0] & 0x40 ? 0x80n : 0n)
    for (let i = 1; i < b.length; i++) v = (v << 8n) | BigInt(b[i])
    return Number(v)
  }
  // octal digits up to the first NUL, blanks trimmed (by hand: every header has eight of these)
  let end = b.indexOf(0)
  if (end < 0) end = b.length
  let i = 0
  while (i < end && b[i] <= 0x20) i++
  while (end > i && b[end - 1] <= 0x20) end--
  let v = 0
  for (; i < end; i++) {
    const c = b[i]
    if (c < 0x30 || c > 0x37) throw new TarFormatError(`bad number in the ${field} field of a header`)
    v = v * 8 + (c - 0x30)
  }
  return v
}

function checksumOk(h: Buffer): boolean {
  const want = num(h.subarray(148, 156), 'checksum')
  // the checksum field counts as eight spaces
  let unsigned = 8 * 32
  for (let i = 0; i < 148; i++) unsigned += h[i]
  for (let i = 156; i < BLOCK; i++) unsigned += h[i]
  if (want === unsigned) return true
  // some old tars summed signed bytes
  let signed = 8 * 32
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) signed += h[i] > 127 ? h[i] - 256 : h[i]
  return want === signed
}

/**
 * One block's own header fields, for a look at an archive's names without
 * reading it (format sniffing): null where the block is no valid header.
 * Extension headers (pax, GNU long names) are returned as they are, by flag.
 */
export function peekHeader(h: Buffer): {name: string; size: number; flag: string} | null {
  try {
    if (h.length < BLOCK || !checksumOk(h)) return null
    const flag = String.fromCharCode(h[156])
    let name = str(h.subarray(0, 100)).toString('latin1')
    if (h.subarray(257, 262).equals(USTAR) && !h.subarray(257, 265).equals(GNU_MAGIC) && h[345])
      name = `${str(h.subarray(345, 500)).toString('latin1')}/${name}`
    return {name, size: num(h.subarray(124, 136), 'size'), flag}
  } catch (e) {
    if (e instanceof TarFormatError) return null
    throw e
  }
}

/** PAX records: "LEN key=value\n", values kept as bytes. */
export function parsePax(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>()
  let off = 0
  while (off < buf.length) {
    if (buf[off] === 0) break
    const sp = buf.indexOf(0x20, off)
    const len = parseInt(buf.subarray(off, sp).toString('latin1'), 10)
    if (sp < 0 || !(len > 0) || off + len > buf.length || buf[off + len - 1] !== 0x0a) throw new TarFormatError('malformed PAX header')
    const rec = buf.subarray(sp + 1, off + len - 1)
    const eq = rec.indexOf(0x3d)
    if (eq < 0) throw new TarFormatError('malformed PAX record')
    out.set(rec.subarray(0, eq).toString('utf8'), rec.subarray(eq + 1))
    off += len
  }
  return out
}

/** "1600000000.123456789" (or negative) → ns */
export function paxTimeNs(v: Buffer): bigint {
  const s = v.toString('latin1')
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(s)
  if (!m) throw new TarFormatError(`bad PAX time '${s}'`)
  const ns = BigInt(m[2]) * 1000000000n + BigInt(((m[3] ?? '') + '000000000').slice(0, 9))
  return m[1] ? -ns : ns
}

const TYPES: Record<string, TarType> = {'0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'chardev', '4': 'blockdev', '5': 'dir', '6': 'fifo', D: 'dir'}

interface Segment {offset: number; size: number}

/**
 * Calls onEntry for each entry in order; onEntry may read the data (once)
 * before returning. Throws TarFormatError on malformed or truncated input.
 */
export async function readTar(src: ByteSource, onEntry: (e: TarEntry, data: DataReader) => Promise<void>): Promise<void> {
  let globalPax = new Map<string, Buffer>()
  let pax: Map<string, Buffer> | null = null
  let longName: Buffer | null = null
  let longLink: Buffer | null = null
  for (;;) {
    const h = await src.read(BLOCK)
    if (h === null) return // no end-of-archive blocks: GNU tar accepts this too
    if (h.equals(ZERO_BLOCK)) {
      await src.drain() // the end: whatever follows is padding
      return
    }
    if (!checksumOk(h)) throw new TarFormatError(`bad header checksum at byte ${src.offset - BLOCK} (not a tar archive, or a damaged one)`)
    const flag = String.fromCharCode(h[156])
    const size = num(h.subarray(124, 136), 'size')
    let padded = Math.ceil(size / BLOCK) * BLOCK
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > 16 << 20) throw new TarFormatError(`an extended header of ${size} bytes is too large`)
      const body = (await src.read(padded)) ?? Buffer.alloc(0)
      if (body.length < padded) throw new TarFormatError('the archive is truncated')
      const data = body.subarray(0, size)
      if (flag === 'x') pax = new Map([...(pax ?? []), ...parsePax(data)])
      else if (flag === 'g') globalPax = new Map([...globalPax, ...parsePax(data)])
      else if (flag === 'L') longName = Buffer.from(str(data))
      else longLink = Buffer.from(str(data))
      continue
    }
    const p = pax || globalPax.size ? new Map([...globalPax, ...(pax ?? [])]) : NO_PAX
    pax = null
    const ustar = h.subarray(257, 262).equals(USTAR)
    const gnu = h.subarray(257, 265).equals(GNU_MAGIC)
    let name: Buffer = longName ?? Buffer.from(str(h.subarray(0, 100)))
    if (!longName && ustar && !gnu && h[345]) name = Buffer.concat([str(h.subarray(345, 500)), Buffer.from('/'), name])
    let linkname: Buffer = longLink ?? Buffer.from(str(h.subarray(157, 257)))
    longName = longLink = null
    if (p.has('path')) name = Buffer.from(p.get('path')!)
    if (p.has('linkpath')) linkname = Buffer.from(p.get('linkpath')!)
    const xattrs: [string, Buffer][] = []
    for (const [k, v] of p) if (k.startsWith('SCHILY.xattr.')) xattrs.push([k.slice(13), Buffer.from(v)])
    let type: TarType = TYPES[flag] ?? 'other'
    const entrySize = p.has('size') ? Number(p.get('size')!.toString('latin1')) : size
    const archived = p.has('size') ? entrySize : size // bytes of data in the archive
    padded = Math.ceil(archived / BLOCK) * BLOCK
    const mtimeNs = p.has('mtime') ? paxTimeNs(p.get('mtime')!) : BigInt(num(h.subarray(136, 148), 'mtime')) * 1000000000n
    const e: TarEntry = {
      name,
      type,
      typeflag: flag,
      mode: num(h.subarray(100, 108), 'mode') & 0o7777,
      uid: p.has('uid') ? Number(p.get('uid')!.toString()) : num(h.subarray(108, 116), 'uid'),
      gid: p.has('gid') ? Number(p.get('gid')!.toString()) : num(h.subarray(116, 124), 'gid'),
      mtimeNs,
      atimeNs: p.has('atime') ? paxTimeNs(p.get('atime')!) : undefined,
      size: type === 'file' ? entrySize : 0,
      linkname,
      devmajor: ustar ? num(h.subarray(329, 337), 'devmajor') : 0,
      devminor: ustar ? num(h.subarray(337, 345), 'devminor') : 0,
      xattrs,
    }
    // sparse files: a map of data segments, the holes between them zeros
    let segments: Segment[] | null = null
    let mapInData = false
    if (flag === 'S') {
      type = e.type = 'file'
      segments = []
      const addSparse = (b: Buffer, count: number) => {
        for (let i = 0; i < count; i++) {
          const s = b.subarray(i * 24, i * 24 + 24)
          if (s[0] === 0) break
          segments!.push({offset: num(s.subarray(0, 12), 'sparse offset'), size: num(s.subarray(12, 24), 'sparse size')})
        }
      }
      addSparse(h.subarray(386, 482), 4)
      let extended = h[482] !== 0
      e.size = num(h.subarray(483, 495), 'realsize')
      while (extended) {
        const x = await src.read(BLOCK)
        if (!x) throw new TarFormatError('the archive is truncated')
        addSparse(x.subarray(0, 504), 21)
        extended = x[504] !== 0
      }
    } else if (p.has('GNU.sparse.major') || p.has('GNU.sparse.map') || p.has('GNU.sparse.size')) {
      if (p.has('GNU.sparse.name')) e.name = Buffer.from(p.get('GNU.sparse.name')!)
      e.size = Number((p.get('GNU.sparse.realsize') ?? p.get('GNU.sparse.size')!).toString())
      if (p.get('GNU.sparse.major')?.toString() === '1') mapInData = true
      else if (p.has('GNU.sparse.map')) {
        const nums = p.get('GNU.sparse.map')!.toString().split(',').map(Number)
        segments = []
        for (let i = 0; i + 1 < nums.length; i += 2) segments.push({offset: nums[i], size: nums[i + 1]})
      } else throw new TarFormatError(`unsupported sparse format (GNU.sparse 0.0) for ${name.toString()}`)
    }

    let consumed = 0 // archive data bytes consumed by the reader
    const readRaw = async function* (n: number): AsyncGenerator<Buffer> {
      while (n > 0) {
        const c = await src.some(Math.min(n, 1 << 20))
        n -= c.length
        consumed += c.length
        yield c
      }
    }
    const data: DataReader = async function* () {
      if (mapInData) {
        // GNU sparse 1.0: decimal lines (count, then offset/size pairs) padded to a block
        const lines: number[] = []
        let text = ''
        let need = -1
        while (need < 0 || lines.length < 1 + need * 2) {
          const b = await src.read(BLOCK)
          if (!b) throw new TarFormatError('the archive is truncated')
          consumed += BLOCK
          text += b.toString('latin1')
          const parts = text.split('\n')
          text = parts.pop()!
          for (const x of parts) {
            if (!/^\d+$/.test(x)) throw new TarFormatError('malformed sparse map')
            lines.push(Number(x))
            if (need < 0) need = lines[0]
          }
          if (consumed > 1 << 24) throw new TarFormatError('sparse map too large')
        }
        segments = []
        for (let i = 0; i < need; i++) segments.push({offset: lines[1 + 2 * i], size: lines[2 + 2 * i]})
      }
      if (!segments) {
        yield* readRaw(archived)
        return
      }
      let pos = 0
      for (const s of segments) {
        if (s.offset < pos || s.offset + s.size > e.size) throw new TarFormatError('malformed sparse map')
        yield* zeros(s.offset - pos)
        yield* readRaw(s.size)
        pos = s.offset + s.size
      }
      yield* zeros(e.size - pos)
    }
    await onEntry(e, data)
    const rest = padded - consumed
    if (rest < 0) throw new TarFormatError('malformed sparse map')
    await src.skip(rest)
  }
}

const ZEROS = Buffer.alloc(1 << 20)
async function* zeros(n: number): AsyncGenerator<Buffer> {
  while (n > 0) {
    const k = Math.min(n, ZEROS.length)
    n -= k
    yield ZEROS.subarray(0, k)
  }
}
