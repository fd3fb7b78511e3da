// Progress lines for long work: on a TTY only (stderr), at most ten a second,
// erased when done. Nothing on a pipe, and nothing when the caller says --json.

/** What an import has done so far. */
export interface ImportCounts {entries: number; bytesDone: number; contentBytes: number}

export interface Progress<T> {update: (t: T) => void; done: () => void}

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
export function bytes(n: number): string {
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${i ? n.toFixed(1) : Math.round(n)} ${units[i]}`
}

export function progressLine<T>(enabled: boolean, render: (t: T, seconds: number) => string): Progress<T> {
  const stream = process.stderr
  if (!enabled || !stream.isTTY) return {update: () => {}, done: () => {}}
  const start = Date.now()
  let last = 0
  let shown = false
  return {
    update(t) {
      const now = Date.now()
      if (now - last < 100) return
      last = now
      shown = true
      stream.write('\r\x1b[K' + render(t, (now - start) / 1000))
    },
    done() {
      if (shown) stream.write('\r\x1b[K')
    },
  }
}

export const importProgress = (enabled: boolean) =>
  progressLine<ImportCounts>(enabled, (t, s) => `importing: ${t.entries} ${t.entries === 1 ? 'entry' : 'entries'}, ${bytes(t.bytesDone)} hashed, ${bytes(t.bytesDone / Math.max(s, 0.001))}/s`)

/** Streamed imports (tar, OCI): the total isn't known ahead, so bytes and entries read, and the rate. */
export const streamProgress = (enabled: boolean) =>
  progressLine<ImportCounts>(enabled, (t, s) => `importing: ${t.entries} ${t.entries === 1 ? 'entry' : 'entries'}, ${bytes(t.bytesDone)} read, ${bytes(t.bytesDone / Math.max(s, 0.001))}/s`)
