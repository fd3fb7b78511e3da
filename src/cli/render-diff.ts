// How changes read on a terminal: one letter and the path, as `git status --short`.
import type {ChangeJSON, ChangeKind} from '../stack/changes.js'

export const changeLetter: Record<ChangeKind, string> = {added: 'A', changed: 'C', deleted: 'D', opaque: 'O'}

/**
 * The path as a terminal can show it: directories end in '/'; a path with
 * control characters or bytes that aren't UTF-8 is quoted, those written \xNN.
 */
export function shownPath(c: ChangeJSON): string {
  const raw = c.pathHex ? Buffer.from(c.pathHex, 'hex') : Buffer.from(c.path)
  const tail = c.type === 'dir' && raw.length > 1 ? '/' : ''
  if (!c.pathHex && !/[\x00-\x1f\x7f"\\]/.test(c.path)) return c.path + tail
  let s = ''
  for (let i = 0; i < raw.length; ) {
    const len = utf8Length(raw, i)
    if (len === 0) {
      s += '\\x' + raw[i].toString(16).padStart(2, '0')
      i++
      continue
    }
    const ch = raw.subarray(i, i + len).toString('utf8')
    if (ch === '"' || ch === '\\') s += '\\' + ch
    else if (len === 1 && (raw[i] < 0x20 || raw[i] === 0x7f)) s += '\\x' + raw[i].toString(16).padStart(2, '0')
    else s += ch
    i += len
  }
  return `"${s}${tail}"`
}

/** Length of the valid UTF-8 sequence starting at i, or 0 if none does. */
function utf8Length(b: Buffer, i: number): number {
  const x = b[i]
  const n = x < 0x80 ? 1 : x >= 0xc2 && x < 0xe0 ? 2 : x >= 0xe0 && x < 0xf0 ? 3 : x >= 0xf0 && x < 0xf5 ? 4 : 0
  if (n === 0 || i + n > b.length) return 0
  for (let k = 1; k < n; k++) if ((b[i + k] & 0xc0) !== 0x80) return 0
  // overlong and surrogate forms aren't valid either
  return Buffer.from(b.subarray(i, i + n).toString('utf8')).equals(b.subarray(i, i + n)) ? n : 0
}
