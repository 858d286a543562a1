/**
 * The datastore libp2p gets: the node's Level datastore, with libp2p's peer records (`/peers/...`) also kept in
 * memory. The peer store reads a peer's record from the datastore on every lookup and merge (identify, DHT query
 * responses, dials); against LevelDB those reads were the largest CPU cost of a busy node.
 *
 * Peer records are also written behind: the peer store rewrites a peer's record on every merge, even an unchanged
 * one (it stamps `updated`), and kad-dht merges every peer named in every DHT answer, so an idle 20-node mesh wrote to
 * Level hundreds of times a minute. Writes land in memory and reach Level in one batch at most every
 * `flushIntervalMs` (and before a query, and at `flush()`, which the node calls after libp2p stops), so known peers
 * still survive restarts; a crash loses at most that interval (2 s) of peer-store updates.
 *
 * DHT provider records (`/dht/provider/...`) are written behind in the same batch (not cached for reads: kad reads
 * them by query, which flushes first). Every announced artifact reaches each of its closest peers as an ADD_PROVIDER,
 * and each was its own Level write beside the registry's on every node of a small mesh; a provider record is soft
 * state its provider republishes, so losing the last 2 s of them in a crash costs nothing lasting. Everything else
 * (DHT value records) passes straight through.
 */
import { BaseDatastore } from 'datastore-core'
import type { Batch, Datastore, Key, KeyQuery, Pair, Query } from 'interface-datastore'
import type { AbortOptions } from '@libp2p/interface'

const PEERS_PREFIX = '/peers/'
/** Keys written behind (batched); only peer records are also cached for reads. */
const WRITE_BEHIND = [PEERS_PREFIX, '/dht/provider/']
const writtenBehind = (k: string): boolean => WRITE_BEHIND.some(p => k.startsWith(p))
/** Peer records kept in memory at most (a record is a few hundred bytes); the oldest are dropped first. */
const DEFAULT_MAX_ENTRIES = 10_000
/**
 * Longest a peer record written to the cache waits before it reaches Level. Short: a node SIGKILLed soon after it
 * met its peers must still find them on restart (a first node has no bootstrap list to fall back on, and comes back
 * on a new port nobody knows); one batch every 2 s still replaces hundreds of single writes a minute.
 */
const DEFAULT_FLUSH_INTERVAL_MS = 2_000

/** The datastore libp2p persists its peer store and DHT records in (see the module comment). */
export class PeerCacheDatastore extends BaseDatastore {
  private readonly cache = new Map<string, Uint8Array>()
  /** Records written here and not yet to Level (peer records and provider records). */
  private readonly dirty = new Map<string, { key: Key, value: Uint8Array }>()
  private timer?: NodeJS.Timeout
  private flushing = Promise.resolve()
  /** Bumped by every write: a read that raced a write must not cache what it read. */
  private generation = 0

  constructor (private readonly inner: Datastore, private readonly maxEntries = DEFAULT_MAX_ENTRIES, private readonly flushIntervalMs = DEFAULT_FLUSH_INTERVAL_MS) {
    super()
  }

  private remember (key: Key, value: Uint8Array): void {
    const k = key.toString()
    if (!k.startsWith(PEERS_PREFIX)) return
    this.cache.delete(k)
    this.cache.set(k, value)
    this.trim()
  }

  /** Drop the oldest records over `maxEntries` (one not yet in Level is still read from `dirty`). */
  private trim (): void {
    for (const k of this.cache.keys()) {
      if (this.cache.size <= this.maxEntries) return
      this.cache.delete(k)
    }
  }

  override async put (key: Key, value: Uint8Array, options?: AbortOptions): Promise<Key> {
    this.generation++
    const k = key.toString()
    if (!writtenBehind(k)) {
      await this.inner.put(key, value, options)
      return key
    }
    this.dirty.set(k, { key, value })
    this.remember(key, value)
    if (this.timer == null) {
      // a timer that fires after the store closed (a node closing under load) must not become an unhandled rejection
      this.timer = setTimeout(() => { this.flush().catch(() => {}) }, this.flushIntervalMs)
      this.timer.unref()
    }
    return key
  }

  /** Write every record still held only in memory to Level, in one batch. */
  async flush (): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    this.flushing = this.flushing.then(async () => {
      if (this.dirty.size === 0) return
      const batch = this.inner.batch()
      for (const { key, value } of this.dirty.values()) batch.put(key, value)
      this.dirty.clear()
      await batch.commit()
    })
    await this.flushing
  }

  override async get (key: Key, options?: AbortOptions): Promise<Uint8Array> {
    const hit = this.cache.get(key.toString()) ?? this.dirty.get(key.toString())?.value
    if (hit != null) return hit
    const generation = this.generation
    const value = await this.inner.get(key, options)
    if (generation === this.generation) this.remember(key, value)
    return value
  }

  override async has (key: Key, options?: AbortOptions): Promise<boolean> {
    return this.cache.has(key.toString()) || this.dirty.has(key.toString()) || await this.inner.has(key, options)
  }

  override async delete (key: Key, options?: AbortOptions): Promise<void> {
    this.generation++
    this.cache.delete(key.toString())
    this.dirty.delete(key.toString())
    await this.inner.delete(key, options)
  }

  /** The inner store's (atomic) batch; the cache follows once it is committed. */
  override batch (): Batch {
    const inner = this.inner.batch()
    const ops: Array<{ key: Key, value?: Uint8Array }> = []
    return {
      put: (key, value) => { inner.put(key, value); ops.push({ key, value }) },
      delete: key => { inner.delete(key); ops.push({ key }) },
      commit: async options => {
        this.generation++
        for (const op of ops) { this.cache.delete(op.key.toString()); this.dirty.delete(op.key.toString()) }
        await inner.commit(options)
        for (const op of ops) if (op.value != null) this.remember(op.key, op.value)
      }
    }
  }

  // a query reads Level: first write what only the cache holds
  override async * query (q: Query, options?: AbortOptions): AsyncGenerator<Pair> {
    await this.flush()
    yield * this.inner.query(q, options)
  }

  override async * queryKeys (q: KeyQuery, options?: AbortOptions): AsyncGenerator<Key> {
    await this.flush()
    yield * this.inner.queryKeys(q, options)
  }
}
