// The worker side of IngestPool (ingest.ts has the protocol): stores files
// by path and streamed objects by batches, writes each one's stub when asked,
// answers every object, and hands every batch buffer back. It loads little
// besides the native calls.
import {parentPort, workerData} from 'node:worker_threads'
import {sys} from '../sys.js'
import {writeStub} from '../format/stub.js'
import {FILE, STUB, type WorkerMessage, type WorkerReply} from './ingest.js'

const {objectsDir, tmpDir, alias: aliasMin, abort} = workerData as {objectsDir: string; tmpDir: string; alias: number; abort: Int32Array}
const port = parentPort!
const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength)
const pathText = (p: unknown) => (typeof p === 'string' ? p : p instanceof Uint8Array ? buf(p).toString() : null)
const aborted = () => Atomics.load(abort, 0) === 1
const ABORTED = Object.assign(new Error('the import was stopped'), {code: 'ECANCELED'})

let answers: unknown[] = []
const fail = (id: number, e: unknown) => {
  const err = e as Omit<NodeJS.ErrnoException, 'path'> & {path?: unknown}
  // the path the error names (the store's, when a write failed): what the user is told; and the
  // call that failed (an fsetxattr refused by the filesystem is no bug)
  answers.push(id, null, err.syscall && !err.message.includes(err.syscall) ? `${err.message} (${err.syscall})` : err.message, err.code ?? null, pathText(err.path), err.syscall ?? null)
}

/** Writes the stub whose fields start at a[i] (a null path: none) for a stored object; answers id. */
function stored(id: number, r: [string, number, boolean, number], a: unknown[], i: number) {
  const [digest, size, isNew, alias] = r
  let squashed = null
  if (a[i]) {
    const xattrs = (a[i + 6] as [string, Uint8Array][] | null)?.map(([n, v]): [string, Buffer] => [n, buf(v)])
    const meta = {uid: a[i + 1] as number, gid: a[i + 2] as number, mode: a[i + 3] as number, atimeNs: a[i + 4] as bigint, mtimeNs: a[i + 5] as bigint, xattrs}
    squashed = writeStub(buf(a[i] as Uint8Array), meta, digest, size, alias).squashed
  }
  answers.push(id, digest, size, isNew, squashed, alias)
}

// a streamed object being written (w null: it failed, its remaining bytes are skipped)
let open: {id: number; w: object | null} | undefined

function files(t: unknown[]) {
  for (let i = 0; i < t.length; i += FILE) {
    const id = t[i] as number
    try {
      if (aborted()) throw ABORTED
      stored(id, sys.storeFile(buf(t[i + 1] as Uint8Array), tmpDir, objectsDir, aliasMin), t, i + 2)
    } catch (e) {
      fail(id, e)
    }
  }
}

function batch(m: {buf: ArrayBuffer; ops: number[]; stubs: unknown[]}) {
  const data = Buffer.from(m.buf)
  const stubAt = new Map<number, number>()
  for (let i = 0; i < m.stubs.length; i += STUB) stubAt.set(m.stubs[i] as number, i + 1)
  let off = 0
  for (let i = 0; i < m.ops.length; i += 3) {
    const [id, n, end] = [m.ops[i], m.ops[i + 1], m.ops[i + 2] === 1]
    if (open?.id !== id) {
      try {
        if (aborted()) throw ABORTED
        open = {id, w: sys.objectOpen(tmpDir)}
      } catch (e) {
        open = {id, w: null}
        fail(id, e)
      }
    }
    const o = open!
    if (o.w && aborted()) {
      sys.objectAbort(o.w)
      o.w = null
      fail(id, ABORTED)
    }
    if (o.w) {
      try {
        sys.objectWrite(o.w, data.subarray(off, off + n))
      } catch (e) {
        sys.objectAbort(o.w)
        o.w = null
        fail(id, e)
      }
    }
    if (end && o.w) {
      try {
        // objectFinish cleans up after itself when it fails
        stored(id, sys.objectFinish(o.w, objectsDir, aliasMin), m.stubs, stubAt.get(id) ?? -1)
      } catch (e) {
        fail(id, e)
      }
    }
    off += n
    if (end) open = undefined
  }
}

port.on('message', (m: WorkerMessage) => {
  const reply = (r: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(r, transfer)
  if ('syncfs' in m) {
    try {
      sys.syncfs(m.syncfs)
    } catch {
      // the caller's own sync, before it publishes, says what is wrong
    }
    return reply('synced')
  }
  if ('drain' in m) {
    // an object half-streamed when the pool closes is dropped (its unnamed file goes with it)
    if (open?.w) sys.objectAbort(open.w)
    open = undefined
    return reply('drained')
  }
  if ('files' in m) files(m.files)
  else batch(m)
  const out = answers
  answers = []
  if ('buf' in m) reply({answers: out, free: m.buf}, [m.buf])
  else reply({answers: out})
})
