/**
 * The node's blockstore: blockstore-level underneath, with a byte count of everything stored, a quota and a per-block
 * size cap enforced on EVERY write (our adds, bitswap fetches, pins of remote DAGs), so no path can overfill the disk.
 *
 * The count is kept in memory and saved in the state store on a clean close; after a crash (no clean mark) it is
 * recomputed by one scan of the blockstore at open.
 */
import { LevelBlockstore } from 'blockstore-level'
import type { Blockstore, InputPair, Pair } from 'interface-blockstore'
import type { CID } from 'multiformats/cid'
import { base32upper } from 'multiformats/bases/base32'
import { StorageError } from './errors.js'
import type { StateStore } from './level.js'
import { SUBLEVELS } from './constants.js'

type Options = { signal?: AbortSignal }
type BlockInput = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>

const USAGE_KEY = 'usage'
interface UsageRecord { bytes: number, blocks: number, clean: boolean }

/** The blockstore's limits: the quota and the per-block size cap. */
export interface MeteredBlockstoreInit {
  quotaBytes: number
  maxBlockBytes: number
}

async function collect (value: BlockInput): Promise<Uint8Array> {
  if (value instanceof Uint8Array) return value
  const parts: Uint8Array[] = []
  let n = 0
  for await (const p of value as AsyncIterable<Uint8Array>) { parts.push(p); n += p.byteLength }
  if (parts.length === 1) return parts[0]
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.byteLength }
  return out
}

function mhKey (cid: CID): string {
  return Buffer.from(cid.multihash.bytes).toString('base64')
}

/** A Blockstore that counts bytes, refuses writes beyond the quota and blocks over the size cap. */
export class MeteredBlockstore implements Blockstore {
  private used = 0
  private count = 0
  /** Bytes of writes in flight, reserved against the quota before they land. */
  private reserved = 0
  private readonly inflight = new Map<string, Promise<void>>()
  private opened = false

  constructor (readonly inner: LevelBlockstore, private readonly state: StateStore, private limits: MeteredBlockstoreInit) {}

  /** Open the Level blockstore and load (or, after a crash, recompute) the byte count. */
  async open (options: Options = {}): Promise<void> {
    if (this.opened) return
    await this.inner.open()
    const sub = this.state.sublevel<UsageRecord>(SUBLEVELS.storage)
    const saved = await sub.get(USAGE_KEY)
    if (saved?.clean === true) {
      this.used = saved.bytes
      this.count = saved.blocks
    } else {
      await this.recount(options)
    }
    // mark dirty while open: a crash from here on forces a recount at the next open
    await sub.put(USAGE_KEY, { bytes: this.used, blocks: this.count, clean: false })
    this.opened = true
  }

  /** Save the count with a clean mark and close the Level blockstore. */
  async close (): Promise<void> {
    if (!this.opened) return
    this.opened = false
    await this.state.sublevel<UsageRecord>(SUBLEVELS.storage).put(USAGE_KEY, { bytes: this.used, blocks: this.count, clean: true })
    await this.inner.close()
  }

  /** Recompute the byte count from the blocks on disk. */
  async recount (options: Options = {}): Promise<void> {
    let bytes = 0
    let blocks = 0
    for await (const value of this.inner.db.values()) {
      options.signal?.throwIfAborted()
      bytes += value.byteLength
      blocks++
    }
    this.used = bytes
    this.count = blocks
  }

  /** Bytes stored (blocks only; LevelDB's own overhead is not counted). */
  get usedBytes (): number { return this.used }
  get blockCount (): number { return this.count }
  get quotaBytes (): number { return this.limits.quotaBytes }
  get maxBlockBytes (): number { return this.limits.maxBlockBytes }
  /** Bytes still writable: quota minus stored minus in-flight reservations. */
  get freeBytes (): number { return Math.max(0, this.limits.quotaBytes - this.used - this.reserved) }

  /** Change the limits at run time (e.g. a config reload). */
  setLimits (limits: Partial<MeteredBlockstoreInit>): void {
    this.limits = { ...this.limits, ...limits }
  }

  async has (cid: CID, options?: Options): Promise<boolean> {
    return await this.inner.has(cid, options)
  }

  async put (cid: CID, value: BlockInput, options?: Options): Promise<CID> {
    // one writer per block: a concurrent put of the same block waits for the first instead of counting it twice
    const done = await this.claim(cid)
    try {
      const bytes = await collect(value)
      if (await this.inner.has(cid, options)) return cid
      if (bytes.byteLength > this.limits.maxBlockBytes) {
        throw new StorageError('ERR_BLOCK_TOO_LARGE', `block ${cid.toString()} of ${bytes.byteLength} bytes exceeds the ${this.limits.maxBlockBytes}-byte block limit`)
      }
      if (this.used + this.reserved + bytes.byteLength > this.limits.quotaBytes) {
        throw new StorageError('ERR_QUOTA', `storage quota exceeded: ${this.used} of ${this.limits.quotaBytes} bytes used, cannot store ${bytes.byteLength} more (unpin artifacts and run gc, or raise storage.quotaBytes)`)
      }
      this.reserved += bytes.byteLength
      try {
        await this.inner.put(cid, bytes, options)
        this.used += bytes.byteLength
        this.count++
      } finally {
        this.reserved -= bytes.byteLength
      }
      return cid
    } finally {
      done()
    }
  }

  /** Wait until no other put/delete of this block is in flight, then claim it; call the result to release. */
  private async claim (cid: CID): Promise<() => void> {
    const key = mhKey(cid)
    for (let w = this.inflight.get(key); w != null; w = this.inflight.get(key)) await w
    // no await between the check above and this set: the claim is atomic
    let release!: () => void
    this.inflight.set(key, new Promise<void>(resolve => { release = resolve }))
    return () => { this.inflight.delete(key); release() }
  }

  async * putMany (source: Iterable<InputPair> | AsyncIterable<InputPair>, options?: Options): AsyncGenerator<CID> {
    for await (const { cid, bytes } of source) yield await this.put(cid, bytes, options)
  }

  async * get (cid: CID, options?: Options): AsyncGenerator<Uint8Array> {
    yield * this.inner.get(cid, options)
  }

  async * getMany (source: Iterable<CID> | AsyncIterable<CID>, options?: Options): AsyncGenerator<Pair> {
    for await (const cid of source) yield { cid, bytes: this.inner.get(cid, options) }
  }

  /** Delete a block, reading its size first so the count stays exact. */
  async delete (cid: CID, options?: Options): Promise<void> {
    const done = await this.claim(cid)
    try {
      const existing = await this.inner.db.get(`/${blockKey(cid)}`)
      if (existing == null) return
      await this.inner.delete(cid, options)
      this.used -= existing.byteLength
      this.count--
    } finally {
      done()
    }
  }

  async * deleteMany (source: Iterable<CID> | AsyncIterable<CID>, options?: Options): AsyncGenerator<CID> {
    for await (const cid of source) {
      await this.delete(cid, options)
      yield cid
    }
  }

  /** Every block with its size (the CIDs come back as raw-codec CIDs: blocks are keyed by multihash). */
  async * entries (options?: Options): AsyncGenerator<{ cid: CID, size: number }> {
    for await (const { cid, bytes } of this.inner.getAll(options)) {
      let size = 0
      for await (const b of bytes) size += b.byteLength
      yield { cid, size }
    }
  }

  async * getAll (options?: Options): AsyncGenerator<Pair> {
    yield * this.inner.getAll(options)
  }

  /** Ask LevelDB to compact, so deleted blocks give their disk space back now rather than eventually. */
  async compact (): Promise<void> {
    const db = this.inner.db
    if (canCompact(db)) await db.compactRange('\u0000', '\uffff')
  }
}

/** classic-level (what `level` is on Node) can compact a range; the portable `Level` type does not declare it. */
function canCompact (db: object): db is { compactRange: (start: string, end: string) => Promise<void> } {
  return typeof (db as { compactRange?: unknown }).compactRange === 'function'
}

/** blockstore-level's key for a CID: base32upper of the multihash (without the leading '/'). */
function blockKey (cid: CID): string {
  return base32upper.encoder.encode(cid.multihash.bytes)
}
