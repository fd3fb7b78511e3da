// Streams objects' content to worker threads that hash and write it, for a
// reader that sees content as a stream (a tar): the main thread only copies
// each chunk into a batch buffer. Batches (many small objects, or a piece of
// a large one) are transferred, not copied, to a worker and handed back when
// written, so a fixed set of buffers bounds the bytes in flight: memory stays
// flat whatever the archive's size, and the reader waits when workers lag.
import {Worker} from 'node:worker_threads'
import {availableParallelism} from 'node:os'
import type {Ingested} from './ingest.js'
import type {Meta} from '../format/entry.js'
import {aliasHex} from '../format/stub.js'

/** A stub to write once an object is stored (its path in the staged tree, its metadata). */
export interface StubRequest {path: Buffer; meta: Meta}

/**
 * A batch as the worker gets it: ops are triples (object id, byte count, 1
 * when the object ends there); stubs, by object id, to write when it ends.
 */
export interface SinkBatch {buf: ArrayBuffer; ops: number[]; stubs: Record<number, StubRequest>}
export type Answer = {id: number; result: Ingested} | {id: number; error: {message: string; code?: string; path?: string; syscall?: string}}
/** A batch written: its buffer back, with the answers for the objects that ended in it. */
export type SinkReply = {free: ArrayBuffer; answers: Answer[]} | {aborted: true}

interface Slot {w: Worker; queued: number; failed?: Error; aborted?: () => void}
interface Waiter {resolve: (r: Ingested) => void; reject: (e: Error) => void}
interface Batch {buf: Buffer; fill: number; ops: number[]; stubs: Record<number, StubRequest>; slot: Slot}

/** alias: the alias length objects get (0: stubs of the digest form; see format/stub.ts) */
export interface SinkOptions {workers?: number; batchBytes?: number; buffersPerWorker?: number; alias?: number}

export class ObjectSink {
  private slots: Slot[] = []
  private free: ArrayBuffer[] = []
  private wantBuffer: (() => void)[] = []
  private waiters = new Map<number, Waiter>()
  private batch: Batch | undefined
  private openId = -1
  private openSlot: Slot | undefined // the worker holding the open object's first bytes
  private nextId = 0
  private turn = 0
  private closed = false
  private readonly batchBytes: number

  constructor(objectsDir: string, tmpDir: string, opts: SinkOptions = {}) {
    const workers = opts.workers ?? Math.max(1, Math.min(availableParallelism(), 4))
    this.batchBytes = opts.batchBytes ?? 1 << 20
    for (let i = 0; i < workers * (opts.buffersPerWorker ?? 2); i++) this.free.push(new ArrayBuffer(this.batchBytes))
    for (let i = 0; i < workers; i++) {
      const w = new Worker(new URL('./object-sink-worker.js', import.meta.url), {workerData: {objectsDir, tmpDir, alias: opts.alias ?? aliasHex()}})
      const slot: Slot = {w, queued: 0}
      w.on('message', (m: SinkReply) => this.onReply(slot, m))
      w.on('error', (e) => this.onWorkerError(slot, e))
      this.slots.push(slot)
    }
  }

  private onReply(slot: Slot, m: SinkReply) {
    if ('aborted' in m) {
      slot.aborted?.()
      return
    }
    for (const a of m.answers) {
      const waiter = this.waiters.get(a.id)!
      this.waiters.delete(a.id)
      if ('result' in a) waiter.resolve(a.result)
      else waiter.reject(Object.assign(new Error(a.error.message), {code: a.error.code, path: a.error.path, syscall: a.error.syscall}))
    }
    slot.queued--
    this.free.push(m.free)
    this.wantBuffer.shift()?.()
  }

  private onWorkerError(slot: Slot, e: Error) {
    // a dead worker answers nothing more: fail what waits on it, and whoever waits for buffers
    slot.failed = e
    for (const [id, waiter] of this.waiters) {
      this.waiters.delete(id)
      waiter.reject(e)
    }
    for (const wake of this.wantBuffer.splice(0)) wake()
    slot.aborted?.()
  }

  private check() {
    for (const s of this.slots) if (s.failed) throw s.failed
  }

  private async newBatch(): Promise<Batch> {
    while (this.free.length === 0) {
      this.check()
      await new Promise<void>((r) => this.wantBuffer.push(r))
    }
    this.check()
    // an object's bytes all go to one worker; a new object goes to the least busy, taking turns
    let slot = this.openSlot
    if (!slot) {
      this.turn = (this.turn + 1) % this.slots.length
      for (let i = 0; i < this.slots.length; i++) {
        const s = this.slots[(this.turn + i) % this.slots.length]
        if (!slot || s.queued < slot.queued) slot = s
      }
    }
    return (this.batch = {buf: Buffer.from(this.free.pop()!), fill: 0, ops: [], stubs: {}, slot: slot!})
  }

  private send() {
    const b = this.batch
    if (!b) return
    this.batch = undefined
    b.slot.queued++
    const msg: SinkBatch = {buf: b.buf.buffer as ArrayBuffer, ops: b.ops, stubs: b.stubs}
    b.slot.w.postMessage(msg, [msg.buf])
  }

  private op(b: Batch, n: number, end: boolean) {
    const o = b.ops
    if (o.length && o[o.length - 3] === this.openId && o[o.length - 1] === 0) {
      o[o.length - 2] += n
      o[o.length - 1] = end ? 1 : 0
    } else o.push(this.openId, n, end ? 1 : 0)
  }

  /**
   * Starts an object of size bytes; its content follows through write(),
   * then end(). An object that fits a batch but not what is left of the
   * current one starts a new batch: batches then seldom end inside an object,
   * and each can go to whichever worker is free.
   */
  begin(size: number) {
    if (this.openId >= 0) throw new Error('an object is open already')
    this.openId = this.nextId++
    const b = this.batch
    if (b && size <= this.batchBytes && b.fill + size > b.buf.length) this.send()
  }

  /** Appends to the open object (copied: the caller keeps chunk); waits while every buffer is in flight. */
  async write(chunk: Buffer) {
    let off = 0
    while (off < chunk.length) {
      const b = this.batch ?? (await this.newBatch())
      this.openSlot = b.slot
      const n = Math.min(chunk.length - off, b.buf.length - b.fill)
      chunk.copy(b.buf, b.fill, off, off + n)
      b.fill += n
      off += n
      this.op(b, n, false)
      if (b.fill === b.buf.length) this.send()
    }
  }

  /**
   * Ends the open object (the next may begin once this resolves); result
   * settles with its digest and whether this stored it, once a worker wrote
   * it. Given a stub, the worker writes it too (result.stub says how), so
   * that the layer's metadata work is spread over the cores as well.
   */
  async end(stub?: StubRequest): Promise<{result: Promise<Ingested>}> {
    const b = this.batch ?? (await this.newBatch())
    const id = this.openId
    this.op(b, 0, true)
    if (stub) b.stubs[id] = stub
    this.openId = -1
    this.openSlot = undefined
    return {result: new Promise((resolve, reject) => this.waiters.set(id, {resolve, reject}))}
  }

  /** Sends what is batched: every object ended so far will be answered. */
  flush() {
    if (this.batch?.ops.length) this.send()
  }

  /**
   * Stops: abort drops the open object's temporary file, and resolves once
   * every worker has answered all it was sent (so the caller knows every
   * object stored); then the workers end.
   */
  async close(abort = false) {
    if (this.closed) return
    this.closed = true
    if (abort) {
      this.batch = undefined
      this.openId = -1
      this.openSlot = undefined
      await Promise.all(
        this.slots.map((s) =>
          s.failed
            ? undefined
            : new Promise<void>((r) => {
                s.aborted = r
                s.w.postMessage({abort: true})
              }),
        ),
      )
    }
    for (const [id, waiter] of this.waiters) {
      this.waiters.delete(id)
      waiter.reject(new Error('the object sink was closed'))
    }
    await Promise.all(this.slots.map((s) => s.w.terminate()))
  }
}
