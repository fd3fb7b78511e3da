// Puts files into the object store on worker threads, so hashing and copying
// use every core while the main thread writes the layer's metadata.
import {Worker} from 'node:worker_threads'
import {availableParallelism} from 'node:os'

import type {Applied, Meta} from '../layer/writer.js'

export interface Ingested {digest: string; size: number; stored: boolean; stub?: Applied}

interface Task {resolve: (r: Ingested) => void; reject: (e: Error) => void}
interface Message {src: Buffer; stub?: {path: Buffer; meta: Meta}}
type Answer = {ok: true; result: Ingested} | {ok: false; error: {message: string; code?: string}}
interface Slot {w: Worker; tasks: Task[]; outbox: Message[]}

const BATCH = 32

/**
 * Tasks go to the least busy worker as soon as they are given, not when one
 * is idle (the caller's walk is synchronous: workers must not starve while it
 * runs), in batches: a message between threads costs tens of microseconds,
 * as much as a small file's work. Each worker answers its tasks in order.
 */
export class IngestPool {
  private workers: Slot[] = []
  private flushing = false

  constructor(objectsDir: string, tmpDir: string, size = Math.max(1, Math.min(availableParallelism(), 4))) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL('./ingest-worker.js', import.meta.url), {workerData: {objectsDir, tmpDir}})
      const slot: Slot = {w, tasks: [], outbox: []}
      w.on('message', (answers: Answer[]) => {
        for (const m of answers) {
          const t = slot.tasks.shift()!
          if (m.ok) t.resolve(m.result)
          else t.reject(Object.assign(new Error(m.error.message), {code: m.error.code}))
        }
      })
      w.on('error', (e) => {
        for (const t of slot.tasks.splice(0)) t.reject(e)
      })
      this.workers.push(slot)
    }
  }

  /**
   * Stores src's content; given a stub (its path and metadata), the worker
   * also writes the layer's stub for it, so that metadata work is spread
   * over the cores too.
   */
  put(src: Buffer, stub?: {path: Buffer; meta: Meta}): Promise<Ingested> {
    const slot = this.workers.reduce((a, b) => (b.tasks.length < a.tasks.length ? b : a))
    return new Promise((resolve, reject) => {
      slot.tasks.push({resolve, reject})
      slot.outbox.push({src, stub})
      if (slot.outbox.length >= BATCH) this.send(slot)
      else if (!this.flushing) {
        // whatever is left goes out as soon as the caller yields
        this.flushing = true
        setImmediate(() => {
          this.flushing = false
          for (const s of this.workers) this.send(s)
        })
      }
    })
  }

  private send(slot: Slot) {
    if (slot.outbox.length) slot.w.postMessage(slot.outbox.splice(0))
  }

  async close() {
    await Promise.all(this.workers.map(({w}) => w.terminate()))
  }
}
