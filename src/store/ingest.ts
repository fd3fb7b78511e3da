// Puts files into the object store on worker threads, so hashing and copying
// use every core while the main thread writes the layer's metadata.
import {Worker} from 'node:worker_threads'
import {availableParallelism} from 'node:os'

export interface Ingested {digest: string; size: number; stored: boolean}

interface Task {src: Buffer; resolve: (r: Ingested) => void; reject: (e: Error) => void}

export class IngestPool {
  private workers: Worker[] = []
  private idle: Worker[] = []
  private queue: Task[] = []
  private running = new Map<Worker, Task>()

  constructor(objectsDir: string, tmpDir: string, size = Math.max(1, Math.min(availableParallelism(), 4))) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL('./ingest-worker.js', import.meta.url), {workerData: {objectsDir, tmpDir}})
      w.on('message', (m: {ok: true; result: Ingested} | {ok: false; error: {message: string; code?: string}}) => {
        const t = this.running.get(w)!
        this.running.delete(w)
        if (m.ok) t.resolve(m.result)
        else t.reject(Object.assign(new Error(m.error.message), {code: m.error.code}))
        this.next(w)
      })
      w.on('error', (e) => {
        const t = this.running.get(w)
        if (t) t.reject(e)
      })
      this.workers.push(w)
      this.idle.push(w)
    }
  }

  put(src: Buffer): Promise<Ingested> {
    return new Promise((resolve, reject) => {
      this.queue.push({src, resolve, reject})
      const w = this.idle.pop()
      if (w) this.next(w)
    })
  }

  private next(w: Worker) {
    const t = this.queue.shift()
    if (!t) {
      this.idle.push(w)
      return
    }
    this.running.set(w, t)
    w.postMessage(t.src)
  }

  async close() {
    await Promise.all(this.workers.map((w) => w.terminate()))
  }
}
