// The one way a layer is built from entries: a walk (a directory's, an
// upper's, a tar stream's) describes each entry; the builder writes it into a
// staged stub tree (data into the object store on worker threads, stubs as
// they answer), keeps hardlinks, tallies what it skipped, holds the first
// failure of deferred work, and at the end publishes the tree by rename, or
// removes the staging and nothing is published (docs/design.md, Layers).
import {join} from 'node:path'
import {readFileSync} from 'node:fs'
import type {Home} from '../store/home.js'
import {IngestPool} from '../store/ingest.js'
import {ObjectStore} from '../store/objects.js'
import {type StubForm, aliasHex} from '../format/stub.js'
import {discard} from '../store/fsutil.js'
import {stagingDir} from '../store/staging.js'
import {firstCause} from '../errors.js'
import {displayPath, type Meta} from '../format/entry.js'
import {TreeWriter} from './writer.js'
import {publishStaged, newTally, type ImportResult, type Tally} from './publish.js'
import type {LayerInfo} from './layers.js'

export const DEFAULT_INLINE_LIMIT = 64

export interface BuildOptions {
  /** Names the staging directory (tmp/KIND-…). */
  kind: string
  inlineLimit?: number
  onProgress?: (t: Tally) => void
  /** What a failure reading the source at a path means (the importer's own words); by default the error itself. */
  explain?: (e: unknown, path: Buffer) => unknown
  /** The stubs' form (format/stub.ts): short (format 2, the default) or digest */
  stubs?: StubForm
}

export class LayerBuilder {
  readonly staging: string
  readonly writer: TreeWriter
  readonly tally: Tally = newTally()
  readonly inlineLimit: number
  private readonly pending = new Map<string, Promise<void>>()
  private firstFailure: unknown
  private pool?: IngestPool
  private readonly firstOfInode = new Map<string, Buffer>()
  private readonly links: [Buffer, Buffer][] = []
  private sinceYield = 0
  private nextKey = 0

  /** the store's objects, making aliases of the length this layer's stubs redirect by (0: the digest form) */
  readonly objects: ObjectStore

  constructor(readonly home: Home, readonly opts: BuildOptions) {
    this.objects = new ObjectStore(home.objects, home.tmp, aliasHex(opts.stubs))
    home.ensure()
    this.inlineLimit = opts.inlineLimit ?? DEFAULT_INLINE_LIMIT
    this.staging = stagingDir(home.tmp, opts.kind)
    this.writer = new TreeWriter(join(this.staging, 'tree'), {record: true})
  }

  /**
   * Lets deferred results in now and then (the walk is synchronous between
   * awaits): stubs get written as it goes, and progress moves. A worker that
   * failed meanwhile (a full disk) stops the walk here.
   */
  async breathe() {
    if (++this.sinceYield < 256) return
    this.sinceYield = 0
    await new Promise((r) => setImmediate(r))
    this.check()
  }

  /** The first failure of deferred work so far, if any. */
  get failure(): unknown {
    return this.firstFailure
  }

  progress() {
    this.opts.onProgress?.(this.tally)
  }

  /** An entry a layer can't hold (a device node, a socket, an unknown tar type): counted and named, never silently dropped. */
  skip(rel: Buffer, what: 'device' | 'socket' | string) {
    if (what === 'device') this.tally.devices++
    else if (what === 'socket') this.tally.sockets++
    if (this.tally.skippedPaths.length < 100) this.tally.skippedPaths.push(what === 'device' || what === 'socket' ? displayPath(rel) : `${displayPath(rel)} (${what})`)
  }

  /**
   * For a walk of a real tree: whether rel is a further name of an inode met
   * before (key: dev:ino), to be linked to the first name once that is written.
   * Counted as an entry otherwise.
   */
  sameInode(rel: Buffer, inode: string, nlink: number): boolean {
    if (nlink > 1) {
      const first = this.firstOfInode.get(inode)
      if (first) {
        this.links.push([rel, first])
        return true
      }
      this.firstOfInode.set(inode, rel)
    }
    this.tally.entries++
    return false
  }

  /** A small file, inline. */
  inline(rel: Buffer, meta: Meta, content: Buffer) {
    this.writer.file(rel, meta, content)
    this.tally.contentBytes += content.length
  }

  /**
   * A regular file of a tree at path src: inline when small, else a stub.
   * A digest the caller knows the store has (from a cache, a stub's own
   * metacopy) is taken as it is; otherwise a worker stores the data and
   * writes the stub, and stored(digest) is told.
   */
  file(rel: Buffer, src: Buffer, meta: Meta, size: number, o: {known?: string | null; stored?: (digest: string) => void} = {}) {
    if (size <= this.inlineLimit) {
      let content: Buffer
      try {
        content = readFileSync(src)
      } catch (e) {
        throw this.explain(e, src)
      }
      this.inline(rel, meta, content)
      this.progress()
      return
    }
    this.tally.contentBytes += size
    if (o.known) {
      this.writer.stub(rel, meta, o.known, size, this.objects.alias(o.known))
      this.tally.bytesDone += size
      this.progress()
      return
    }
    this.due(
      `#${this.nextKey++}`,
      this.ingest.put(src, {path: this.writer.path(rel), meta}).then(
        (r) => {
          this.writer.stubWritten(rel, meta, r.digest, r.size, r.alias, r.stub!)
          o.stored?.(r.digest)
          this.stored(r.size, r.stored)
          this.progress()
        },
        (e) => {
          throw this.explain(e, src)
        },
      ),
    )
  }

  /** The store's ingest workers (store/ingest.ts), started when first needed: a file's or a stream's content goes through them. */
  get ingest(): IngestPool {
    return (this.pool ??= new IngestPool(this.home.objects, this.home.tmp, {alias: this.objects.aliasMin}))
  }

  /** An object of size bytes went into the store for this layer (stored: it was new). */
  stored(size: number, isNew: boolean) {
    if (isNew) {
      this.tally.objectsAdded++
      this.tally.objectBytesAdded += size
    }
    this.tally.bytesDone += size
  }

  /** Work that finishes later (a stub waiting for its object), under a key; its failure is kept and reported at the end. */
  due(key: string, work: Promise<void>) {
    const p: Promise<void> = work
      .catch((e) => {
        this.firstFailure ??= e
      })
      .finally(() => {
        if (this.pending.get(key) === p) this.pending.delete(key)
      })
    this.pending.set(key, p)
  }

  /** The deferred work under key, if any is still due. */
  dueAt(key: string) { return this.pending.get(key) }
  get busy() { return this.pending.size > 0 }

  /** Waits for every deferred piece of work; then throws the first failure, if any. */
  async settle(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending.values()])
    if (this.firstFailure) throw this.firstFailure
  }

  /** The first deferred failure so far, thrown at once (a stream importer checks before each entry). */
  check() {
    if (this.firstFailure) throw this.firstFailure
  }

  /**
   * Publishes the layer: waits for what is due, links the hardlinks, applies
   * directories' metadata, names the tree by content and publishes it by
   * rename (synced first). before() runs once the data is all in, before
   * anything is published (an archive's digest check).
   */
  async publish(source: LayerInfo['source'], name?: string, before?: () => Promise<void>): Promise<ImportResult> {
    await this.settle()
    await before?.()
    // the filesystem's writeback starts on a worker while the metadata is finished here
    const synced = this.pool?.startSync(this.home.root)
    for (const [rel, first] of this.links) this.writer.hardlink(rel, first)
    this.writer.finish()
    const r = publishStaged(this.home, this.staging, this.writer, this.tally, source, this.inlineLimit, name)
    await synced
    return r
  }

  /**
   * After a failure: every worker stopped (what they had not begun skipped)
   * and every deferred piece of work answered, so nothing lands in the tree
   * while it goes and the caller knows every object stored; then the staging
   * removed (never throwing: the caller reports the cause). Nothing was published.
   */
  async discard() {
    await this.pool?.close(true)
    while (this.pending.size) await Promise.all([...this.pending.values()])
    discard(this.staging)
  }

  /** Stops the workers (idempotent). */
  async close() {
    await this.pool?.close()
  }

  private explain(e: unknown, path: Buffer): unknown {
    return this.opts.explain ? this.opts.explain(e, path) : e
  }
}

/**
 * Builds a layer: walk(builder) describes the entries; then the layer is
 * published, or on any failure the staging is removed and the error thrown.
 */
export async function buildLayer(
  home: Home,
  opts: BuildOptions & {source: LayerInfo['source']; name?: string; before?: () => Promise<void>},
  walk: (b: LayerBuilder) => Promise<void>,
): Promise<ImportResult> {
  const b = new LayerBuilder(home, opts)
  try {
    await walk(b)
    return await b.publish(opts.source, opts.name, opts.before)
  } catch (e) {
    const cause = firstCause(b.failure, e) // a worker's full disk over what failed after it
    await b.discard()
    throw cause
  } finally {
    await b.close()
  }
}
