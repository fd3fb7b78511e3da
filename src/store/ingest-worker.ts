// The worker side of IngestPool: stores each task's file and, given a stub's
// path, writes the stub for it. Tasks and answers travel as flat arrays of
// plain values (see ingest.ts), and this loads little besides the native calls.
import {parentPort, workerData} from 'node:worker_threads'
import {sys} from '../sys.js'
import {writeStub} from '../format/stub.js'
import {TASK} from './ingest.js'

const {objectsDir, tmpDir, alias: aliasMin} = workerData as {objectsDir: string; tmpDir: string; alias: number}
const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength)
const pathText = (p: unknown) => (typeof p === 'string' ? p : p instanceof Uint8Array ? buf(p).toString() : null)

parentPort!.on('message', (t: unknown[] | {syncfs: string}) => {
  if (!Array.isArray(t)) {
    try {
      sys.syncfs(t.syncfs)
    } catch {
      // the caller's own sync, before it publishes, says what is wrong
    }
    parentPort!.postMessage('synced')
    return
  }
  const answers: unknown[] = []
  for (let i = 0; i < t.length; i += TASK) {
    try {
      const [digest, size, stored, alias] = sys.storeFile(buf(t[i] as Uint8Array), tmpDir, objectsDir, aliasMin)
      let squashed = null
      if (t[i + 1]) {
        const xattrs = (t[i + 7] as [string, Uint8Array][] | null)?.map(([n, v]): [string, Buffer] => [n, buf(v)])
        const meta = {uid: t[i + 2] as number, gid: t[i + 3] as number, mode: t[i + 4] as number, atimeNs: t[i + 5] as bigint, mtimeNs: t[i + 6] as bigint, xattrs}
        squashed = writeStub(buf(t[i + 1] as Uint8Array), meta, digest, size, alias).squashed
      }
      answers.push(digest, size, stored, squashed, alias)
    } catch (e) {
      const err = e as Omit<NodeJS.ErrnoException, 'path'> & {path?: unknown}
      // the path the error names (the store's, when a write failed): what the user is told; and the
      // call that failed (an fsetxattr refused by the filesystem is no bug)
      answers.push(null, err.syscall && !err.message.includes(err.syscall) ? `${err.message} (${err.syscall})` : err.message, err.code ?? null, pathText(err.path), err.syscall ?? null)
    }
  }
  parentPort!.postMessage(answers)
})
