/**
 * The datastore libp2p gets: the node's Level datastore, with libp2p's peer records (`/peers/...`) also kept in
 * memory. The peer store reads a peer's record from the datastore on every lookup and merge (identify, DHT query
 * responses, dials); against LevelDB those reads were the largest CPU cost of a busy node. Writes still go to Level
 * first, so known peers survive restarts; everything else (DHT records, providers) passes straight through.
 */
import { BaseDatastore } from 'datastore-core'
import type { Batch, Datastore, Key, KeyQuery, Pair, Query } from 'interface-datastore'
import type { AbortOptions } from '@libp2p/interface'

const PEERS_PREFIX = '/peers/'
/** Peer records kept in memory at most (a record is a few hundred bytes); the oldest are dropped first. */
const DEFAULT_MAX_ENTRIES = 10_000

/** The datastore libp2p persists its peer store and DHT records in (see the module comment). */
export class PeerCacheDatastore extends BaseDatastore {
  private readonly cache = new Map<string, Uint8Array>()
  /** Bumped by every write: a read that raced a write must not cache what it read. */
  private generation = 0

  constructor (private readonly inner: Datastore, private readonly maxEntries = DEFAULT_MAX_ENTRIES) {
    super()
  }

  private remember (key: Key, value: Uint8Array): void {
    const k = key.toString()
    if (!k.startsWith(PEERS_PREFIX)) return
    this.cache.delete(k)
    this.cache.set(k, value)
    if (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value as string)
  }

  override async put (key: Key, value: Uint8Array, options?: AbortOptions): Promise<Key> {
    this.generation++
    this.cache.delete(key.toString())
    await this.inner.put(key, value, options)
    this.remember(key, value)
    return key
  }

  override async get (key: Key, options?: AbortOptions): Promise<Uint8Array> {
    const hit = this.cache.get(key.toString())
    if (hit != null) return hit
    const generation = this.generation
    const value = await this.inner.get(key, options)
    if (generation === this.generation) this.remember(key, value)
    return value
  }

  override async has (key: Key, options?: AbortOptions): Promise<boolean> {
    return this.cache.has(key.toString()) || await this.inner.has(key, options)
  }

  override async delete (key: Key, options?: AbortOptions): Promise<void> {
    this.generation++
    this.cache.delete(key.toString())
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
        for (const op of ops) this.cache.delete(op.key.toString())
        await inner.commit(options)
        for (const op of ops) if (op.value != null) this.remember(op.key, op.value)
      }
    }
  }

  override query (q: Query, options?: AbortOptions): AsyncGenerator<Pair> {
    return this.inner.query(q, options) as AsyncGenerator<Pair>
  }

  override queryKeys (q: KeyQuery, options?: AbortOptions): AsyncGenerator<Key> {
    return this.inner.queryKeys(q, options) as AsyncGenerator<Key>
  }
}
