import {parentPort, workerData} from 'node:worker_threads'
import {ObjectStore} from './objects.js'
import {type Meta, writeStub} from '../layer/writer.js'

const store = new ObjectStore(workerData.objectsDir, workerData.tmpDir)
const buf = Buffer.allocUnsafe(1 << 20)
const asBuffer = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength)

parentPort!.on('message', (task: {src: Uint8Array; stub?: {path: Uint8Array; meta: Meta}}) => {
  try {
    const result = store.put(asBuffer(task.src), buf)
    let stub
    if (task.stub) {
      const meta = {...task.stub.meta, xattrs: task.stub.meta.xattrs?.map(([n, v]): [string, Buffer] => [n, asBuffer(v)])}
      stub = writeStub(asBuffer(task.stub.path), meta, result.digest, result.size)
    }
    parentPort!.postMessage({ok: true, result: {...result, stub}})
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    parentPort!.postMessage({ok: false, error: {message: err.message, code: err.code}})
  }
})
