/**
 * Reading artifacts: resolve the root (locally or from peers) to learn the size before the first byte, then stream the
 * file with an idle timeout, so a slow but progressing transfer is never cut while a dead one fails promptly.
 */
import { setMaxListeners } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { unixfs, type UnixFS } from '@helia/unixfs'
import type { CID } from 'multiformats/cid'
import type { BlockTracker } from './block-tracking.js'
import { StorageError } from './errors.js'
import type { StorageMetrics } from './metrics.js'
import { IdleTimeout } from './streams.js'
import type { ArtifactContent } from './types.js'
import { fetchResult, storageErrorIn } from './util.js'

/**
 * Bitswap asks each connected peer for a block once: a peer that did not have it yet (an artifact wanted before its
 * producer finished storing it) is never asked again, and a want re-issued at once reuses the cancelled entry. So an
 * unanswered root want is dropped after REWANT_FIRST_MS and asked afresh after a short pause, backing off.
 */
const REWANT_FIRST_MS = 2_000
const REWANT_PAUSE_MS = 100
/**
 * How long the peers a read names (a delta's producer) get to deliver the root through a session of their own, before
 * the root is asked of every connected peer. A broadcast want of a block that the whole mesh fetches at once (every
 * node prefetches every delta) has each fetcher receive it from every peer that got it first: measured with 10 nodes
 * on a loaded 2-core machine, 9 copies per fetcher and 5-13 s per fetch, against one copy and 0.3-1.2 s when asked of
 * the producer alone.
 */
const HINTED_PATIENCE_MS = 5_000

/** Where a read looks for the root: `hinted`, a session with the peers the reader named, is asked first. */
export interface RootSources {
  fs: UnixFS
  hinted?: UnixFS
}

/**
 * The file size of a UnixFS file or raw block, fetching the root if needed. ERR_NOT_FOUND when no peer delivered it
 * before `idle` timed out (or, offline, when it is not here), ERR_NOT_A_FILE for directories.
 */
export async function resolveFileSize (fs: UnixFS, cid: CID, idle: IdleTimeout, timeoutMs: number, offline?: boolean): Promise<number> {
  return (await resolveRoot({ fs }, cid, idle, timeoutMs, offline)).size
}

/**
 * `resolveFileSize` that first asks `sources.hinted` (for HINTED_PATIENCE_MS; not offline), then every peer; returns
 * the size and the source that delivered the root, to read the rest of the file from.
 */
export async function resolveRoot (sources: RootSources, cid: CID, idle: IdleTimeout, timeoutMs: number, offline?: boolean): Promise<{ size: number, fs: UnixFS }> {
  let patience = REWANT_FIRST_MS
  let hinted = offline === true ? undefined : sources.hinted
  for (;;) {
    const fs = hinted ?? sources.fs
    const attempt = offline === true ? idle.signal : AbortSignal.any([idle.signal, AbortSignal.timeout(hinted != null ? HINTED_PATIENCE_MS : patience)])
    // bitswap stores the root with this signal and hands it to a send job for every peer that wants the block too:
    // one abort listener each, past Node's warning threshold of 10 in a mesh of a dozen peers (not a leak)
    setMaxListeners(Infinity, attempt)
    try {
      const st = await fs.stat(cid, { signal: attempt, offline })
      if (st.type === 'directory') throw new StorageError('ERR_NOT_A_FILE', `${cid.toString()} is a directory, not an artifact`)
      idle.touch()
      return { size: Number(st.size), fs }
    } catch (err) {
      if (err instanceof StorageError) throw err
      // the named peers did not deliver in time, or do not have it (yet): ask every connected peer from now on
      if (hinted != null && !idle.signal.aborted) { hinted = undefined; continue }
      if (attempt.aborted && !idle.signal.aborted) {
        await sleep(REWANT_PAUSE_MS, undefined, { signal: idle.signal }).catch(() => {})
        if (!idle.signal.aborted) { patience *= 2; continue }
      }
      if (idle.timedOut) throw new StorageError('ERR_NOT_FOUND', `no peer provided ${cid.toString()} within ${timeoutMs} ms`, { cause: err })
      const se = storageErrorIn(err)
      if (se != null) throw se
      if (offline === true && (err as Error).name === 'BlockNotFoundWhileOfflineError') throw new StorageError('ERR_NOT_FOUND', `${cid.toString()} is not stored locally`, { cause: err })
      // the caller aborted: let its reason through
      if (idle.signal.aborted) throw err
      throw new StorageError('ERR_FETCH', `cannot read ${cid.toString()}: ${(err as Error).message}`, { cause: err })
    }
  }
}

/**
 * Read a whole file of `size` bytes once, through a view that notes every block it touches, and return those blocks:
 * that is the whole DAG, which a pin then pins in one atomic batch without a second walk. The exporter fetches
 * siblings in parallel, every block hash-checked; `idle` fails the read when no block arrives for `timeoutMs`.
 */
export async function readWholeDag (tracker: Pick<BlockTracker, 'reads'>, cid: CID, size: number, idle: IdleTimeout, timeoutMs: number, offline?: boolean): Promise<CID[]> {
  const dag: CID[] = []
  try {
    let n = 0
    for await (const chunk of unixfs({ blockstore: tracker.reads(dag) }).cat(cid, { signal: idle.signal, offline })) {
      idle.touch()
      n += chunk.byteLength
      if (n > size) throw new StorageError('ERR_CORRUPT', `artifact ${cid.toString()} yields more bytes than its declared ${size}`)
    }
  } catch (err) {
    if (idle.timedOut) throw new StorageError('ERR_TIMEOUT', `no block of ${cid.toString()} arrived for ${timeoutMs} ms`, { cause: err })
    throw storageErrorIn(err) ?? err
  }
  return dag
}

/** How `openArtifact` reads. */
export interface OpenArtifactOptions {
  /** Called when the read is over (success, failure, abort or idle timeout); may be called more than once. */
  onDone?: () => void
  timeoutMs: number
  maxBytes: number
  signal?: AbortSignal
  offline?: boolean
}

/**
 * Resolve the size (refusing artifacts over `maxBytes`) and wait for the first block of content, then hand back a
 * stream of the bytes. A read whose first block does not arrive within the idle timeout fails here, before a caller
 * commits to a response, with ERR_NOT_FOUND as for a root nobody provided (nobody could deliver the artifact).
 */
export async function openArtifact (sources: RootSources, cid: CID, opts: OpenArtifactOptions, metrics?: StorageMetrics): Promise<ArtifactContent> {
  const idle = new IdleTimeout(opts.timeoutMs, opts.signal)
  // a stream that is never iterated still ends: on timeout or abort (onDone is idempotent)
  if (opts.onDone != null) idle.signal.addEventListener('abort', opts.onDone, { once: true })
  let size: number
  let blocks: AsyncIterator<Uint8Array>
  let first: IteratorResult<Uint8Array>
  try {
    const root = await resolveRoot(sources, cid, idle, opts.timeoutMs, opts.offline)
    size = root.size
    if (size > opts.maxBytes) throw new StorageError('ERR_TOO_LARGE', `artifact ${cid.toString()} of ${size} bytes exceeds the ${opts.maxBytes}-byte limit`)
    // the rest of the file from whoever delivered the root (the named peers' session, or every peer)
    blocks = root.fs.cat(cid, { signal: idle.signal, offline: opts.offline })[Symbol.asyncIterator]()
    try {
      first = await blocks.next()
    } catch (err) {
      if (idle.timedOut) throw new StorageError('ERR_NOT_FOUND', `no peer provided the first block of ${cid.toString()} within ${opts.timeoutMs} ms`, { cause: err })
      throw storageErrorIn(err) ?? err
    }
    idle.touch()
  } catch (err) {
    idle.clear()
    opts.onDone?.()
    metrics?.fetches.inc({ result: fetchResult(err) })
    throw err
  }
  async function * content (): AsyncGenerator<Uint8Array> {
    let n = 0
    try {
      for (let r = first; r.done !== true; r = await blocks.next()) {
        const chunk = r.value
        idle.touch()
        n += chunk.byteLength
        // blocks are hash-checked, but a crafted DAG can still lie about its size: never yield past the declaration
        if (n > size) throw new StorageError('ERR_CORRUPT', `artifact ${cid.toString()} yields more bytes than its declared ${size}`)
        metrics?.fetchedBytes.inc(chunk.byteLength)
        yield chunk
      }
      metrics?.fetches.inc({ result: 'ok' })
    } catch (err) {
      const mapped = idle.timedOut ? new StorageError('ERR_TIMEOUT', `no block of ${cid.toString()} arrived for ${opts.timeoutMs} ms`, { cause: err }) : storageErrorIn(err) ?? err
      metrics?.fetches.inc({ result: fetchResult(mapped) })
      throw mapped
    } finally {
      idle.clear()
      opts.onDone?.()
      await blocks.return?.()?.catch(() => {})
    }
  }
  return { cid: cid.toString(), size, content: content() }
}

/** Read a whole opened artifact into memory (small artifacts; stream `content` for big ones). */
export async function readAll ({ size, content }: ArtifactContent): Promise<Uint8Array> {
  const out = new Uint8Array(size)
  let o = 0
  for await (const chunk of content) { out.set(chunk, o); o += chunk.byteLength }
  return out
}
