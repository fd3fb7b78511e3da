// Output for the start-up paths (fast.ts, complete.ts): setting up
// process.stdout costs a command milliseconds (it loads node's streams), more
// than a listing's own work, so they write with write(2) itself.
import {writeSync} from 'node:fs'

// once a descriptor's output has gone to its stream, the rest follows it there, in order
const viaStream = new Set<number>()
// descriptors whose reader has gone (`strata layer list | head -1`): nothing more is said to them
const gone = new Set<number>()

/**
 * Writes text to stdout (1) or stderr (2) with write(2) itself. Where the
 * descriptor would block (non-blocking, as another process may have left a
 * shared pipe, and full), the rest goes to process.stdout or stderr, which
 * queue it and write it before the process exits.
 */
export function emit(fd: 1 | 2, text: string) {
  // process.stdout is made when first read: only here, where it is needed
  const stream = () => (fd === 1 ? process.stdout : process.stderr)
  if (gone.has(fd)) return
  if (viaStream.has(fd)) return void stream().write(text)
  const buf = Buffer.from(text)
  let done = 0
  try {
    while (done < buf.length) done += writeSync(fd, buf, done)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EPIPE') return void gone.add(fd)
    if (code !== 'EAGAIN') throw e
    viaStream.add(fd)
    stream().write(buf.subarray(done))
  }
}

