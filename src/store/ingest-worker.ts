import {parentPort, workerData} from 'node:worker_threads'
import {ObjectStore} from './objects.js'
import {type Meta, writeStub} from '../layer/writer.js'

const store = new ObjectStore(workerData.objectsDir, workerData.tmpDir)
const asBuffer = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength)

function one(task: {src: Uint8Array; stub?: {path: Uint8Array; meta: Meta}}) {
  try {
    const result = store.put(asBuffer(task.src))
    let stub
    if (task.stub) {
      const meta = {...task.stub.meta, xattrs: task.stub.meta.xattrs?.map(([n, v]): [string, Buffer] => [n, asBuffer(v)])}
      stub = writeStub(asBuffer(task.stub.path), meta, result.digest, result.size)
    }
    return {ok: true, result: {...result, stub}}
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    return {ok: false, error: {message: err.message, code: err.code}}
  }
}

// tasks come in batches, and their answers go back the same way, in order
parentPort!.on('message', (tasks: Parameters<typeof one>[0][]) => parentPort!.postMessage(tasks.map(one)))
