// The one way content goes into the object store: worker threads hash and
// write it (and the layer's stub for it, so that metadata work is spread over
// the cores too) while the main thread walks. Content comes in one of two
// ways, both through the same workers, messages and answers:
// - a file of a tree, by path (put): the worker reads it itself (natively);
// - a stream (a tar's entries: begin, write, end): the main thread only copies
//   each chunk into a batch buffer. Batches (many small objects, or a piece of
//   a large one) are transferred, not copied, to a worker and handed back when
//   written, so a fixed set of buffers bounds the bytes in flight: memory stays
//   flat whatever the archive's size, and the reader waits when workers lag.
import {Worker} from 'node:worker_threads'
import {availableParallelism} from 'node:os'

import type {Applied, Meta} from '../format/entry.js'
import {aliasHex, appliedOf} from '../format/stub.js'

export interface Ingested {digest: string; size: number; stored: boolean; alias: number; stub?: Applied}
/** A stub to write once an object is stored (its path in the staged tree, its metadata). */
export interface StubRequest {path: Buffer; meta: Meta}

/**
 * The protocol (ingest-worker.ts is the other side). Plain values clone
 * between threads far quicker than an object each, so tasks and answers are
 * flat arrays:
 * - {files}: FILE slots a task, [id, src, ...STUB_FIELDS | null×7]: store src, write its stub;
 * - {buf, ops, stubs}: a batch of streamed content; ops are triples (object
 *   id, byte count, 1 when the object ends there), stubs STUB slots each,
 *   [id, ...STUB_FIELDS], for objects that end in this batch;
 * - {syncfs: path}: start the filesystem's writeback, answered 'synced';
 * - {drain}: answered 'drained' (after all that was sent before it).
 * A stub's fields: [path, uid, gid, mode, atimeNs, mtimeNs, xattrs | null].
 * Answers: {answers, free?}, ANSWER slots each: [id, digest, size, stored,
 * squashed | null, alias] or, failed, [id, null, message, code, path | null, syscall | null];
 * free: the batch's buffer, handed back.
 */
export const FILE = 9
export const STUB = 8
export const ANSWER = 6
export type WorkerMessage = {files: unknown[]} | {buf: ArrayBuffer; ops: number[]; stubs: unknown[]} | {syncfs: string} | {drain: true}
export type WorkerReply = {answers: unknown[]; free?: ArrayBuffer} | 'synced' | 'drained'
const BATCH = 128

interface Waiter {resolve: (r: Ingested) => void; reject: (e: Error) => void; meta?: Meta}
interface Slot {w: Worker; outstanding: number; outbox: unknown[]; failed?: Error; drained?: () => void}
interface Batch {buf: Buffer; fill: number; ops: number[]; stubs: unknown[]; slot: Slot}

/** alias: the alias length objects get (0: stubs of the digest form; see format/stub.ts) */
export interface IngestOptions {workers?: number; batchBytes?: number; buffersPerWorker?: number; alias?: number}

const stubFields = (s?: StubRequest) => {
  const m = s?.meta
  return s
    ? [s.path, m!.uid, m!.gid, m!.mode, m!.atimeNs ?? m!.mtimeNs, m!.mtimeNs, m!.xattrs?.length ? m!.xattrs : null]
    : [null, 0, 0, 0, 0n, 0n, null]
}

/**
 * Work goes to the least busy worker as soon as it is given, not when one is
 * idle (the caller's walk is synchronous: workers must not starve while it
 * runs), in batches: a message between threads costs tens of microseconds, as
 * much as a small file's work. An object's answer settles its promise.
 */
export class IngestPool {
  private slots: Slot[] = []
  private waiters = new Map<number, Waiter>()
  private nextId = 0
  private flushing = false
  private synced?: () => void
  private closed = false
  /** set once closing with abort: workers answer what is left without doing it */
  private readonly abortFlag = new Int32Array(new SharedArrayBuffer(4))
  // streams
  private free: ArrayBuffer[] = []
  private wantBuffer: (() => void)[] = []
  private batch: Batch | undefined
  private openId = -1
  private openSlot: Slot | undefined // the worker holding the open object's first bytes
  private readonly batchBytes: number
  private readonly buffers: number

  constructor(objectsDir: string, tmpDir: string, opts: IngestOptions = {}) {
    const workers = opts.workers ?? Math.max(1, Math.min(availableParallelism(), 4))
    this.batchBytes = opts.batchBytes ?? 1 << 20
    this.buffers = workers * (opts.buffersPerWorker ?? 2)
    for (let i = 0; i < workers; i++) {
      const w = new Worker(new URL('./ingest-worker.js', import.meta.url), {workerData: {objectsDir, tmpDir, alias: opts.alias ?? aliasHex(), abort: this.abortFlag}})
      const slot: Slot = {w, outstanding: 0, outbox: []}
      w.on('message', (m: WorkerReply) => this.onReply(slot, m))
      w.on('error', (e) => this.onWorkerError(slot, e))
      this.slots.push(slot)
    }
  }

  private onReply(slot: Slot, m: WorkerReply) {
    if (m === 'synced') return this.synced?.()
    if (m === 'drained') return slot.drained?.()
    const a = m.answers
    for (let i = 0; i < a.length; i += ANSWER) {
      const [id, digest, sizeOrMessage, storedOrCode, squashedOrPath, aliasOrSyscall] = a.slice(i, i + ANSWER) as [number, string | null, number | string, boolean | string | null, boolean | string | null, number | string | null]
      const t = this.waiters.get(id)
      if (!t) continue
      this.waiters.delete(id)
      slot.outstanding--
      if (digest === null) t.reject(Object.assign(new Error(sizeOrMessage as string), {code: storedOrCode ?? undefined, path: squashedOrPath ?? undefined, syscall: aliasOrSyscall ?? undefined}))
      else t.resolve({digest, size: sizeOrMessage as number, stored: storedOrCode as boolean, alias: aliasOrSyscall as number, stub: t.meta && appliedOf(t.meta, !!squashedOrPath)})
    }
    if (m.free) {
      this.free.push(m.free)
      this.wantBuffer.shift()?.()
    }
  }

  private onWorkerError(slot: Slot, e: Error) {
    // a dead worker answers nothing more: fail everything that waits (the caller stops at the first failure)
    slot.failed = e
    this.synced?.()
    slot.drained?.()
    for (const [id, t] of this.waiters) {
      this.waiters.delete(id)
      t.reject(e)
    }
    for (const wake of this.wantBuffer.splice(0)) wake()
  }

  private check() {
    for (const s of this.slots) if (s.failed) throw s.failed
  }

  private leastBusy(): Slot {
    return this.slots.reduce((a, b) => (b.outstanding < a.outstanding ? b : a))
  }

  private waiter(slot: Slot, meta?: Meta): [number, Promise<Ingested>] {
    const id = this.nextId++
    slot.outstanding++
    return [id, new Promise((resolve, reject) => this.waiters.set(id, {resolve, reject, meta}))]
  }

  /** Stores the file at src; given a stub (its path and metadata), the worker writes the stub for it too. */
  put(src: Buffer, stub?: StubRequest): Promise<Ingested> {
    const slot = this.leastBusy()
    const [id, result] = this.waiter(slot, stub?.meta)
    slot.outbox.push(id, src, ...stubFields(stub))
    if (slot.outbox.length >= BATCH * FILE) this.sendFiles(slot)
    else if (!this.flushing) {
      // whatever is left goes out as soon as the caller yields
      this.flushing = true
      setImmediate(() => {
        this.flushing = false
        for (const s of this.slots) this.sendFiles(s)
      })
    }
    return result
  }

  private sendFiles(slot: Slot) {
    if (slot.outbox.length) slot.w.postMessage({files: slot.outbox.splice(0)} satisfies WorkerMessage)
  }

  private async newBatch(): Promise<Batch> {
    // buffers are made as needed, up to the bound; then the reader waits for one to come back
    while (this.free.length === 0 && this.allocated >= this.buffers) {
      this.check()
      await new Promise<void>((r) => this.wantBuffer.push(r))
    }
    this.check()
    const ab = this.free.pop() ?? (this.allocated++, new ArrayBuffer(this.batchBytes))
    // an object's bytes all go to one worker; a new object goes to the least busy
    const slot = this.openSlot ?? this.leastBusy()
    return (this.batch = {buf: Buffer.from(ab), fill: 0, ops: [], stubs: [], slot})
  }
  private allocated = 0

  private sendBatch() {
    const b = this.batch
    if (!b) return
    this.batch = undefined
    const msg = {buf: b.buf.buffer as ArrayBuffer, ops: b.ops, stubs: b.stubs}
    b.slot.w.postMessage(msg satisfies WorkerMessage, [msg.buf])
  }

  private op(b: Batch, n: number, end: boolean) {
    const o = b.ops
    if (o.length && o[o.length - 3] === this.openId && o[o.length - 1] === 0) {
      o[o.length - 2] += n
      o[o.length - 1] = end ? 1 : 0
    } else o.push(this.openId, n, end ? 1 : 0)
  }

  /**
   * Starts a streamed object of size bytes; its content follows through
   * write(), then end(). An object that fits a batch but not what is left of
   * the current one starts a new batch: batches then seldom end inside an
   * object, and each can go to whichever worker is free.
   */
  begin(size: number) {
    if (this.openId >= 0) throw new Error('an object is open already')
    this.openId = this.nextId++
    const b = this.batch
    if (b && size <= this.batchBytes && b.fill + size > b.buf.length) this.sendBatch()
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
      if (b.fill === b.buf.length) this.sendBatch()
    }
  }

  /**
   * Ends the open object (the next may begin once this resolves); result
   * settles with its digest and whether this stored it, once a worker wrote
   * it, and with how its stub was written when one was given.
   */
  async end(stub?: StubRequest): Promise<{result: Promise<Ingested>}> {
    const b = this.batch ?? (await this.newBatch())
    const id = this.openId
    this.op(b, 0, true)
    if (stub) b.stubs.push(id, ...stubFields(stub))
    this.openId = -1
    this.openSlot = undefined
    b.slot.outstanding++
    return {result: new Promise((resolve, reject) => this.waiters.set(id, {resolve, reject, meta: stub?.meta}))}
  }

  /** Sends what is batched: everything given so far will be answered. */
  flush() {
    if (this.batch?.ops.length) this.sendBatch()
    for (const s of this.slots) this.sendFiles(s)
  }

  /**
   * Starts the filesystem's writeback of what the workers stored (syncfs,
   * on a worker, once its queue is done), while the caller finishes the
   * tree's metadata: the caller's own sync before publishing has little
   * left to wait for then.
   */
  startSync(path: string): Promise<void> {
    this.flush()
    const slot = this.slots[0]
    if (slot.failed) return Promise.resolve()
    return new Promise((resolve) => {
      this.synced = resolve
      slot.w.postMessage({syncfs: path} satisfies WorkerMessage)
    })
  }

  /**
   * Stops. With abort, workers skip what they have not begun (answering it
   * failed) and drop an object half-streamed; either way this resolves once
   * every worker has answered all it was sent (so the caller knows every
   * object stored, and no stub is written after), then the workers end.
   */
  async close(abort = false) {
    if (this.closed) return
    this.closed = true
    if (abort) Atomics.store(this.abortFlag, 0, 1)
    this.batch = undefined
    this.openId = -1
    this.openSlot = undefined
    for (const s of this.slots) this.sendFiles(s)
    await Promise.all(
      this.slots.map((s) =>
        s.failed
          ? undefined
          : new Promise<void>((r) => {
              s.drained = r
              s.w.postMessage({drain: true} satisfies WorkerMessage)
            }),
      ),
    )
    for (const [id, t] of this.waiters) {
      this.waiters.delete(id)
      t.reject(new Error('the ingest pool was closed'))
    }
    await Promise.all(this.slots.map(({w}) => w.terminate()))
  }
}
