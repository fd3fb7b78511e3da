// Puts files into the object store on worker threads, so hashing and copying
// use every core while the main thread writes the layer's metadata.
import {Worker} from 'node:worker_threads'
import {availableParallelism} from 'node:os'

import type {Applied, Meta} from '../format/entry.js'
import {aliasHex, appliedOf} from '../format/stub.js'

export interface Ingested {digest: string; size: number; stored: boolean; alias: number; stub?: Applied}

interface Task {resolve: (r: Ingested) => void; reject: (e: Error) => void; meta?: Meta}
interface Slot {w: Worker; tasks: Task[]; outbox: unknown[]}

/**
 * A task is TASK slots of a flat array: [src, stubPath | null, uid, gid,
 * mode, atimeNs, mtimeNs, xattrs | null]; its answer ANSWER slots: [digest,
 * size, stored, squashed | null, alias], or [null, message, code, path | null, syscall | null]. Plain
 * values clone between threads far quicker than an object each.
 */
export const TASK = 8
const ANSWER = 5
const BATCH = 128

/**
 * Tasks go to the least busy worker as soon as they are given, not when one
 * is idle (the caller's walk is synchronous: workers must not starve while it
 * runs), in batches: a message between threads costs tens of microseconds,
 * as much as a small file's work. Each worker answers its tasks in order.
 */
export class IngestPool {
  private workers: Slot[] = []
  private flushing = false
  private synced?: () => void

  /** alias: the alias length objects get (0: stubs of the digest form; see format/stub.ts) */
  constructor(objectsDir: string, tmpDir: string, alias = aliasHex(), size = Math.max(1, Math.min(availableParallelism(), 4))) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL('./ingest-worker.js', import.meta.url), {workerData: {objectsDir, tmpDir, alias}})
      const slot: Slot = {w, tasks: [], outbox: []}
      w.on('message', (a: unknown[] | 'synced') => {
        if (a === 'synced') return this.synced?.()
        for (let i = 0; i < a.length; i += ANSWER) {
          const t = slot.tasks.shift()!
          const [digest, sizeOrMessage, storedOrCode, squashedOrPath, aliasOrSyscall] = a.slice(i, i + ANSWER) as [string | null, number | string, boolean | string | null, boolean | string | null, number | string | null]
          const squashed = squashedOrPath as boolean | null
          if (digest === null) t.reject(Object.assign(new Error(sizeOrMessage as string), {code: storedOrCode ?? undefined, path: squashedOrPath ?? undefined, syscall: aliasOrSyscall ?? undefined}))
          else t.resolve({digest, size: sizeOrMessage as number, stored: storedOrCode as boolean, alias: aliasOrSyscall as number, stub: t.meta && appliedOf(t.meta, !!squashed)})
        }
      })
      w.on('error', (e) => {
        this.synced?.() // nothing more to wait for from this one
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
      const m = stub?.meta
      slot.tasks.push({resolve, reject, meta: m})
      slot.outbox.push(src, stub?.path ?? null, m?.uid ?? 0, m?.gid ?? 0, m?.mode ?? 0, m?.atimeNs ?? m?.mtimeNs ?? 0n, m?.mtimeNs ?? 0n, m?.xattrs?.length ? m.xattrs : null)
      if (slot.outbox.length >= BATCH * TASK) this.send(slot)
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

  /**
   * Starts the filesystem's writeback of what the workers stored (syncfs,
   * on a worker, once its queue is done), while the caller finishes the
   * tree's metadata: the caller's own sync before publishing has little
   * left to wait for then.
   */
  startSync(path: string): Promise<void> {
    const slot = this.workers[0]
    this.send(slot)
    return new Promise((resolve) => {
      this.synced = resolve
      slot.w.postMessage({syncfs: path})
    })
  }

  private send(slot: Slot) {
    if (slot.outbox.length) slot.w.postMessage(slot.outbox.splice(0))
  }

  /**
   * Stops every worker (resolving once each thread has ended, so nothing
   * more is written by them), and fails what they had not answered.
   */
  async close() {
    await Promise.all(this.workers.map(({w}) => w.terminate()))
    for (const s of this.workers) for (const t of s.tasks.splice(0)) t.reject(new Error('the ingest pool was closed'))
  }
}
