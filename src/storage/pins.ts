/**
 * Helpers over Helia's pin index, which lives in the datastore as
 *   /pin/<root, base36>                 -> cbor { depth, metadata }        (written LAST by pins.add)
 *   /pinned-block/<multihash, base36>   -> cbor { pinCount, pinnedBy[] }   (one write per block, as the walk goes)
 *
 * Helia's `pins.add` is not atomic (one write per block as it walks): a crash mid-walk leaves pinned-block records
 * naming a root whose /pin key was never written, and those blocks would never be collected. So we pin with
 * `pinBlocks` (one batch), and unpin with `releasePin` (crash-safe when re-run).
 * (This reads Helia 7's pin records directly; the format is pinned by the `helia` version in package.json.)
 */
import type { Datastore } from 'interface-datastore'
import { Key } from 'interface-datastore'
import { base36 } from 'multiformats/bases/base36'
import type { CID } from 'multiformats/cid'
import { decode, encode } from 'cborg'

const PIN_PREFIX = '/pin/'
const BLOCK_PREFIX = '/pinned-block/'

interface PinnedBlock { pinCount: number, pinnedBy: Uint8Array[] }

function pinKey (root: CID): Key {
  return new Key(`${PIN_PREFIX}${root.toV1().toString(base36)}`)
}

function blockKey (cid: CID): Key {
  return new Key(`${BLOCK_PREFIX}${base36.encode(cid.multihash.bytes)}`)
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)
}

/** Whether `root` has a completed pin (its /pin record exists). */
export async function hasPin (datastore: Datastore, root: CID, options?: { signal?: AbortSignal }): Promise<boolean> {
  return await datastore.has(pinKey(root), options)
}

/**
 * Drop `root` from the pinned-block records of `blocks` (the blocks a failed pins.add got to), or of every pinned
 * block when the list is unknown (after a crash). Records left with no pinner are deleted, so GC can collect them.
 * Returns how many records were changed.
 */
export async function releasePartialPin (datastore: Datastore, root: CID, blocks?: Iterable<CID>, options: { signal?: AbortSignal } = {}): Promise<number> {
  const rootBytes = root.bytes
  const keys: Key[] = []
  if (blocks != null) {
    for (const b of blocks) keys.push(blockKey(b))
  } else {
    for await (const { key } of datastore.query({ prefix: BLOCK_PREFIX }, options)) keys.push(key)
  }
  let changed = 0
  for (const key of keys) {
    options.signal?.throwIfAborted()
    let rec: PinnedBlock
    try {
      rec = decode(await datastore.get(key, options)) as PinnedBlock
    } catch (err) {
      if ((err as Error).name === 'NotFoundError') continue
      throw err
    }
    const before = rec.pinnedBy.length
    rec.pinnedBy = rec.pinnedBy.filter(c => !sameBytes(c, rootBytes))
    if (rec.pinnedBy.length === before) continue
    rec.pinCount = Math.max(0, rec.pinCount - (before - rec.pinnedBy.length))
    if (rec.pinCount === 0) await datastore.delete(key, options)
    else await datastore.put(key, encode(rec), options)
    changed++
  }
  return changed
}

/**
 * Pin a DAG whose blocks we just wrote ourselves, without walking it: every pinned-block record and the /pin record
 * go into ONE datastore batch, so the pin is all-or-nothing even if the process dies mid-way, and no block is read
 * back. `blocks` must be every block of the DAG (the importer's writes). No-op if already pinned.
 */
export async function pinBlocks (datastore: Datastore, root: CID, blocks: Iterable<CID>, options: { signal?: AbortSignal } = {}): Promise<void> {
  if (await hasPin(datastore, root, options)) return
  const rootBytes = root.bytes
  const seen = new Set<string>()
  const batch = datastore.batch()
  for (const cid of blocks) {
    const key = blockKey(cid)
    const k = key.toString()
    if (seen.has(k)) continue
    seen.add(k)
    options.signal?.throwIfAborted()
    let rec: PinnedBlock = { pinCount: 0, pinnedBy: [] }
    try {
      rec = decode(await datastore.get(key, options)) as PinnedBlock
    } catch (err) {
      if ((err as Error).name !== 'NotFoundError') throw err
    }
    if (rec.pinnedBy.some(c => sameBytes(c, rootBytes))) continue
    rec.pinCount++
    rec.pinnedBy.push(rootBytes)
    batch.put(key, encode(rec))
  }
  // the same record Helia's pins.add writes last: depth Infinity (recursive), no metadata
  batch.put(pinKey(root), encode({ depth: Infinity, metadata: {} }))
  await batch.commit(options)
}

/**
 * Remove the pin of `root`: its /pin record first, then every pinned-block reference to it (one scan of the pin index).
 * We do not use Helia's pins.rm: in Helia 7 it rewrites `pinnedBy` to keep only the removed root, losing the other
 * pinners of shared blocks. Crash-safe when the caller keeps a pending marker: re-running it finishes the job.
 * Returns whether a pin record existed.
 */
export async function releasePin (datastore: Datastore, root: CID, options: { signal?: AbortSignal } = {}): Promise<boolean> {
  const existed = await hasPin(datastore, root, options)
  if (existed) await datastore.delete(pinKey(root), options)
  await releasePartialPin(datastore, root, undefined, options)
  return existed
}
