// One progress line per layer (bytes, total, rate) while blobs move, redrawn
// in place at most ten times a second: on a terminal only (stderr), never on
// a pipe or with --json; erased when done.
import {bytes} from '../progress.js'

export interface Bar {add: (n: number) => void; finish: (note: string) => void}
export interface Bars {bar: (label: string, total?: number) => Bar; done: () => void}

export function layerBars(enabled: boolean, verb: string): Bars {
  const out = process.stderr
  if (!enabled || !out.isTTY) return {bar: () => ({add: () => {}, finish: () => {}}), done: () => {}}
  const rows: {label: string; total?: number; n: number; start: number; note?: string}[] = []
  let drawn = 0
  let last = 0
  const draw = (force = false) => {
    const now = Date.now()
    if (!force && now - last < 100) return
    last = now
    let s = drawn > 1 ? `\x1b[${drawn - 1}A\r` : '\r'
    rows.forEach((r, i) => {
      const rate = r.n / Math.max((now - r.start) / 1000, 0.001)
      const line = r.note ?? `${bytes(r.n)}${r.total ? ` / ${bytes(r.total)}` : ''}  ${bytes(rate)}/s`
      s += `\x1b[K${verb} ${r.label}  ${line}${i < rows.length - 1 ? '\n' : ''}`
    })
    out.write(s)
    drawn = rows.length
  }
  return {
    bar(label, total) {
      const row: (typeof rows)[number] = {label, total, n: 0, start: Date.now()}
      rows.push(row)
      draw(true)
      return {
        add(n) {
          row.n += n
          draw()
        },
        finish(note) {
          row.note = note
          draw(true)
        },
      }
    },
    done() {
      if (!drawn) return
      // erase every line drawn, leaving the cursor where the first one began
      let s = drawn > 1 ? `\x1b[${drawn - 1}A\r` : '\r'
      s += '\x1b[J'
      out.write(s)
      drawn = 0
    },
  }
}
