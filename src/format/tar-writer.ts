// Tar headers, written byte-exact: a PAX extended header carries what ustar
// can't (long or non-ASCII names and targets, nanosecond mtimes, large ids and
// sizes, SCHILY.xattr.* with binary values), as GNU tar and umoci read it.

export type TarFlag = '0' | '1' | '2' | '3' | '4' | '5' | '6'

export interface TarHeader {
  name: Buffer // relative; a directory's gets a trailing '/'
  flag: TarFlag
  mode: number
  uid: number
  gid: number
  mtimeNs: bigint
  size: number
  linkname?: Buffer
  xattrs?: [string, Buffer][]
  devmajor?: number
  devminor?: number
}

const BLOCK = 512
const ascii = (b: Buffer) => b.every((c) => c > 0 && c < 0x80)

function octal(buf: Buffer, off: number, len: number, v: number) {
  buf.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1')
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')])
  let len = body.length + 1
  while (String(len).length + body.length !== len) len = String(len).length + body.length
  return Buffer.concat([Buffer.from(String(len)), body])
}

export function paxTime(ns: bigint): string {
  const neg = ns < 0n
  const a = neg ? -ns : ns
  return `${neg ? '-' : ''}${a / 1000000000n}.${String(a % 1000000000n).padStart(9, '0')}`
}

function ustar(name: Buffer, flag: string, h: TarHeader, size: number, mtimeS: number, linkname: Buffer): Buffer {
  const b = Buffer.alloc(BLOCK)
  name.copy(b, 0, 0, Math.min(100, name.length))
  octal(b, 100, 8, h.mode & 0o7777)
  octal(b, 108, 8, h.uid <= 0o7777777 ? h.uid : 0)
  octal(b, 116, 8, h.gid <= 0o7777777 ? h.gid : 0)
  octal(b, 124, 12, size)
  octal(b, 136, 12, Math.max(0, Math.min(mtimeS, 0o77777777777)))
  b.fill(0x20, 148, 156)
  b.write(flag, 156, 1, 'latin1')
  linkname.copy(b, 157, 0, Math.min(100, linkname.length))
  b.write('ustar\x0000', 257, 8, 'latin1')
  octal(b, 329, 8, h.devmajor ?? 0)
  octal(b, 337, 8, h.devminor ?? 0)
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += b[i]
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1')
  return b
}

/** The header block(s) of one entry: a PAX header first when ustar can't say it all. */
export function headerBlocks(h: TarHeader): Buffer {
  const name = h.flag === '5' && h.name.length && h.name[h.name.length - 1] !== 0x2f ? Buffer.concat([h.name, Buffer.from('/')]) : h.name
  const linkname = h.linkname ?? Buffer.alloc(0)
  const records: Buffer[] = []
  if (name.length > 100 || !ascii(name)) records.push(paxRecord('path', name))
  if (linkname.length > 100 || (linkname.length && !ascii(linkname))) records.push(paxRecord('linkpath', linkname))
  const sec = h.mtimeNs >= 0n ? h.mtimeNs / 1000000000n : -((-h.mtimeNs + 999999999n) / 1000000000n)
  if (h.mtimeNs % 1000000000n !== 0n || h.mtimeNs < 0n || sec > 0o77777777777n) records.push(paxRecord('mtime', Buffer.from(paxTime(h.mtimeNs))))
  if (h.uid > 0o7777777) records.push(paxRecord('uid', Buffer.from(String(h.uid))))
  if (h.gid > 0o7777777) records.push(paxRecord('gid', Buffer.from(String(h.gid))))
  if (h.size > 0o77777777777) records.push(paxRecord('size', Buffer.from(String(h.size))))
  for (const [k, v] of h.xattrs ?? []) records.push(paxRecord(`SCHILY.xattr.${k}`, v))
  const main = ustar(name, h.flag, h, h.size > 0o77777777777 ? 0 : h.size, Number(sec), linkname)
  if (records.length === 0) return main
  const body = Buffer.concat(records)
  const paxName = Buffer.from('PaxHeaders/' + name.subarray(0, 80).toString('latin1').replace(/[^\x20-\x7e]/g, '_'))
  const ph = ustar(paxName, 'x', {...h, uid: 0, gid: 0, mode: 0o644}, body.length, Number(sec), Buffer.alloc(0))
  return Buffer.concat([ph, body, padding(body.length), main])
}

export const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK)
export const endOfArchive = () => Buffer.alloc(2 * BLOCK)
