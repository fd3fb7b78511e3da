// The worker side of ObjectSink: writes batches of objects' content into the
// store, answers each ended object, and hands every batch buffer back.
import {parentPort, workerData} from 'node:worker_threads'
import {ObjectStore, type ObjectWriter} from './objects.js'
import type {Answer, SinkBatch, SinkReply} from './object-sink.js'
import {writeStub} from '../format/stub.js'

const store = new ObjectStore(workerData.objectsDir, workerData.tmpDir, workerData.alias)
const port = parentPort!
const reply = (m: SinkReply, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer)
let open: {id: number; w: ObjectWriter | null} | undefined // w null: failed, its remaining bytes are skipped

// a batch's answers go back in one message with its buffer: a message costs as much as a small object
let answers: Answer[] = []
const fail = (id: number, e: unknown) => {
  const err = e as Omit<NodeJS.ErrnoException, 'path'> & {path?: unknown}
  const path = typeof err.path === 'string' ? err.path : err.path instanceof Uint8Array ? Buffer.from(err.path).toString() : undefined
  answers.push({id, error: {message: err.message, code: err.code, path, syscall: err.syscall}})
}

port.on('message', (m: SinkBatch | {abort: true}) => {
  if ('abort' in m) {
    open?.w?.abort()
    open = undefined
    reply({aborted: true})
    return
  }
  const data = Buffer.from(m.buf)
  let off = 0
  for (let i = 0; i < m.ops.length; i += 3) {
    const id = m.ops[i]
    const n = m.ops[i + 1]
    const end = m.ops[i + 2] === 1
    if (open?.id !== id) {
      try {
        open = {id, w: store.writer()}
      } catch (e) {
        open = {id, w: null}
        fail(id, e)
      }
    }
    const o = open!
    if (o.w) {
      try {
        o.w.write(data.subarray(off, off + n))
      } catch (e) {
        o.w.abort()
        o.w = null
        fail(id, e)
      }
    }
    if (end && o.w) {
      try {
        const result = o.w.finish() // finish cleans up after itself when it fails
        const stub = m.stubs[id]
        const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength)
        answers.push({
          id,
          result: stub
            ? {...result, stub: writeStub(buf(stub.path), {...stub.meta, xattrs: stub.meta.xattrs?.map(([n, v]): [string, Buffer] => [n, buf(v)])}, result.digest, result.size, result.alias)}
            : result,
        })
      } catch (e) {
        fail(id, e)
      }
    }
    off += n
    if (end) open = undefined
  }
  reply({free: m.buf, answers}, [m.buf])
  answers = []
})
