import {parentPort, workerData} from 'node:worker_threads'
import {ObjectStore} from './objects.js'

const store = new ObjectStore(workerData.objectsDir, workerData.tmpDir)
const buf = Buffer.allocUnsafe(1 << 20)
parentPort!.on('message', (src: Uint8Array) => {
  try {
    parentPort!.postMessage({ok: true, result: store.put(Buffer.from(src), buf)})
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    parentPort!.postMessage({ok: false, error: {message: err.message, code: err.code}})
  }
})
