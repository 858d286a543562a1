/**
 * The artifact store: artifacts as chunked UnixFS files in Helia, with signed provenance in the Level registry.
 *
 * Add: bytes stream into UnixFS (1 MiB raw leaves) under the quota and the size cap, the DAG is pinned, and only then is
 * the registry entry written, in one batch with the removal of the pending marker written before the first block.
 * A crash anywhere leaves at most unpinned blocks and a marker; `start()` repairs partial pins and collects the
 * orphans. Every block read from a peer is hash-checked against its CID before it is stored (Helia), so a peer serving
 * wrong bytes cannot corrupt anything. New artifacts are announced on gossip (signed metadata and CID, never bytes)
 * and their root provided on the mesh DHT; announcements from peers are remembered, never fetched automatically.
 */
import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { stat as fsStat } from 'node:fs/promises'
import { basename } from 'node:path'
import { unixfs, type UnixFS } from '@helia/unixfs'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import { systemClock, type Clock } from '../common/clock.js'
import { StorageError } from './errors.js'
import { silentLogger, type Logger } from '../common/logger.js'
import { signRecord, type SignedRecord } from '../protocols/envelope.js'
import { ReplayGuard, SeqSource } from '../protocols/replay.js'
import { DOMAINS, TOPICS } from '../protocols/topics.js'
import { ARTIFACT_RECORD_VERSION, type ArtifactMeta } from '../protocols/validate/artifacts.js'
import type { GossipTopicHandler } from '../protocols/gossip.js'
import { artifactAnnounceHandler } from './announce.js'
import { HINTED_PROVIDER_LOOKUP_DELAY_MS, PROVIDER_LOOKUP_DELAY_MS, STOP_DRAIN_MS, DEFAULT_FETCH_TIMEOUT_MS, DEFAULT_MAX_ARTIFACT_BYTES, DEFAULT_MAX_REMOTE_ENTRIES, DEFAULT_MEDIA_TYPE, PROVIDE_TIMEOUT_MS } from './constants.js'
import { SharedLock } from './lock.js'
import { createStorageMetrics, type StorageMetrics } from './metrics.js'
import { hasPin, pinBlocks, releasePin } from './pins.js'
import { ArtifactRegistry, type ArtifactFilter, type RegistryEntry } from './registry.js'
import { IdleTimeout, metered, type ByteSource } from './streams.js'
import { openArtifact, resolveFileSize } from './read.js'
import { BlockTracker } from './block-tracking.js'
import { collectGarbage } from './gc.js'
import { connectToPeers, connectToProviders, provideRoot } from './providers.js'
import { checkArtifactFields, fetchResult, parseCid, storageErrorIn, stripUndefined } from './util.js'
import type {
  AddArtifactOptions, ArtifactContent, ArtifactInfo, ArtifactStoreComponents, ArtifactStoreInit, FetchOptions, GcResult,
  PinOptions, StorageUsage
} from './types.js'

/** A signed artifact store on Helia; create with `new ArtifactStore(components, init)` or `artifactStore(init)(components)`. */
export class ArtifactStore {
  private readonly fs: UnixFS
  private readonly registry: ArtifactRegistry
  private readonly lock = new SharedLock()
  private readonly seq: SeqSource
  private readonly guard: ReplayGuard
  private readonly clock: Clock
  private readonly log: Logger
  private readonly metrics?: StorageMetrics
  private readonly self: string
  private readonly init: Required<ArtifactStoreInit>
  private readonly tracker: BlockTracker
  private background = new AbortController()
  private started = false
  /** Registry counts, kept in memory (loaded at start) so metrics and usage never scan the registry. */
  private readonly counts = { local: 0, remote: 0 }

  constructor (private readonly c: ArtifactStoreComponents, init: ArtifactStoreInit = {}) {
    this.init = {
      fetchTimeoutMs: init.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS,
      maxArtifactBytes: init.maxArtifactBytes ?? DEFAULT_MAX_ARTIFACT_BYTES,
      recordMaxAgeMs: init.recordMaxAgeMs ?? 10 * 60_000,
      recordMaxSkewMs: init.recordMaxSkewMs ?? 30_000,
      maxRemoteEntries: init.maxRemoteEntries ?? DEFAULT_MAX_REMOTE_ENTRIES,
      provide: init.provide ?? true,
      gcOnRecovery: init.gcOnRecovery ?? true
    }
    this.clock = c.clock ?? systemClock
    this.log = c.logger ?? silentLogger
    this.fs = unixfs(c.helia)
    this.tracker = new BlockTracker(c.helia.blockstore)
    this.registry = new ArtifactRegistry(c.storage.state)
    this.seq = new SeqSource(this.clock)
    this.guard = new ReplayGuard(this.clock, { maxAgeMs: this.init.recordMaxAgeMs, maxSkewMs: this.init.recordMaxSkewMs })
    this.self = peerIdFromPrivateKey(c.privateKey).toString()
    this.metrics = c.metrics
  }

  /** Repair what a crash left unfinished, then listen for announcements. Idempotent. */
  async start (options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.started) return
    this.background = new AbortController()
    const repaired = await this.recover(options)
    if (repaired > 0 && this.init.gcOnRecovery) {
      const { freedBytes } = await this.gc(options)
      this.log.info({ repaired, freedBytes }, 'recovered from unfinished storage operations')
    }
    Object.assign(this.counts, await this.registry.counts())
    this.c.gossip?.register(this.announceHandler())
    this.started = true
    this.refreshGauges()
  }

  /**
   * Abort background work (DHT provides) and give operations in flight a moment to finish (the node aborts their
   * requests first by closing the API). Idempotent; the node unregisters gossip by stopping its processor.
   */
  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.background.abort()
    // a ref'd timer (AbortSignal.timeout's is not): a process with nothing else left must still wait for the drain
    const drain = new AbortController()
    const timer = setTimeout(() => { drain.abort() }, STOP_DRAIN_MS)
    await this.lock.exclusive(drain.signal).then(release => { release() }, () => {
      this.log.warn('storage operations still running at stop; a pending marker will clean them up at the next start')
    }).finally(() => { clearTimeout(timer) })
  }

  /** The gossip handler for TOPICS.artifacts (registered by `start()` when a gossip processor was given). */
  announceHandler (): GossipTopicHandler<SignedRecord<ArtifactMeta>> {
    return artifactAnnounceHandler({ guard: this.guard, remember: async rec => { await this.remember(rec) } })
  }

  /** Add an artifact from bytes, an (async) iterable of chunks or a Node readable stream. */
  async add (source: ByteSource, opts: AddArtifactOptions): Promise<ArtifactInfo> {
    const started = this.clock.now()
    const kind = opts.kind ?? 'other'
    const mediaType = opts.mediaType ?? DEFAULT_MEDIA_TYPE
    checkArtifactFields(opts.name, kind, mediaType, opts.job, opts.round)
    const bs = this.c.storage.blockstore
    if (opts.expectedSize != null) {
      if (opts.expectedSize > this.init.maxArtifactBytes) throw new StorageError('ERR_TOO_LARGE', `artifact of ${opts.expectedSize} bytes exceeds the maximum artifact size of ${this.init.maxArtifactBytes} bytes (storage.maxArtifactBytes)`)
      if (opts.expectedSize > bs.freeBytes) throw new StorageError('ERR_QUOTA', `storage quota exceeded: the artifact needs ${opts.expectedSize} bytes but only ${bs.freeBytes} of the ${bs.quotaBytes}-byte quota are free (unpin artifacts and run gc, or raise storage.quotaBytes)`)
    }
    const release = await this.lock.shared(opts.signal)
    const id = randomBytes(8).toString('hex')
    const written: CID[] = []
    let size = 0
    try {
      await this.registry.commit([this.registry.putPending(id, { op: 'add', startedAt: this.clock.now() })])
      const bytes = metered(source, {
        maxBytes: this.init.maxArtifactBytes,
        freeBytes: () => bs.freeBytes,
        quotaBytes: bs.quotaBytes,
        signal: opts.signal,
        onBytes: n => { size = n; opts.onProgress?.(n) }
      })
      const root = await unixfs({ blockstore: this.tracker.writes(written) }).addByteStream(bytes, { signal: opts.signal, rawLeaves: true, cidVersion: 1 })
      const cid = root.toV1().toString()
      await this.registry.commit([this.registry.putPending(id, { op: 'add', cid, startedAt: started })])
      await pinBlocks(this.c.storage.datastore, root, written, { signal: opts.signal })
      const meta: ArtifactMeta = stripUndefined({ cid, name: opts.name, kind, mediaType, size, producer: this.self, job: opts.job, round: opts.round, createdAt: this.clock.now() })
      const { entry, record } = await this.sign(meta, true)
      const before = await this.registry.get(cid)
      await this.registry.commit([this.registry.putEntry(entry), this.registry.delPending(id)])
      this.count(before, entry)
      this.metrics?.adds.inc({ result: 'ok' })
      this.metrics?.addedBytes.inc(size)
      this.metrics?.addSeconds.observe((this.clock.now() - started) / 1000)
      this.c.events?.emit('artifact.added', { cid, name: meta.name, kind, size, job: meta.job, round: meta.round })
      if (opts.announce !== false) this.afterAdd(root, record)
      this.refreshGauges()
      return this.info(entry)
    } catch (err) {
      const se = storageErrorIn(err)
      this.metrics?.adds.inc({ result: se?.code === 'ERR_QUOTA' ? 'quota' : se?.code === 'ERR_TOO_LARGE' ? 'too_large' : 'error' })
      await this.abandon(id, written).catch(e => { this.log.warn({ err: e }, 'cleanup after a failed add failed; gc will reclaim the blocks') })
      if (se != null) throw se
      throw err
    } finally {
      this.tracker.release(written)
      release()
    }
  }

  /** Add a file from disk; name defaults to the file's base name. */
  async addFile (path: string, opts: Partial<AddArtifactOptions> = {}): Promise<ArtifactInfo> {
    const st = await fsStat(path)
    if (!st.isFile()) throw new StorageError('ERR_INVALID_ARGUMENT', `${path} is not a regular file`)
    return await this.add(createReadStream(path, { highWaterMark: 1024 * 1024, signal: opts.signal }), { ...opts, name: opts.name ?? basename(path), expectedSize: st.size })
  }

  /** Registry entries matching the filter (local and known remote ones), newest first. */
  async list (filter: ArtifactFilter = {}, options?: { signal?: AbortSignal }): Promise<ArtifactInfo[]> {
    return (await this.registry.list(filter, options)).map(e => this.info(e))
  }

  /** The registry entry of a CID, or undefined. */
  async meta (cid: string, options?: { signal?: AbortSignal }): Promise<ArtifactInfo | undefined> {
    const e = await this.registry.get(parseCid(cid).toString(), options)
    return e != null ? this.info(e) : undefined
  }

  /**
   * Open an artifact for reading: from the blockstore, or block by block from peers over bitswap. Resolves once the
   * root is here and the size is known (ERR_NOT_FOUND when no peer delivers it within the timeout, ERR_TOO_LARGE over
   * the cap). Blocks fetched for a read are cached unpinned: GC may reclaim them.
   */
  async open (cidStr: string, opts: FetchOptions = {}): Promise<ArtifactContent> {
    const cid = parseCid(cidStr)
    const lookup = this.lookUpProviders(cid, opts)
    return await openArtifact(this.fs, cid, {
      onDone: () => { lookup?.abort() },
      timeoutMs: opts.timeoutMs ?? this.init.fetchTimeoutMs,
      maxBytes: opts.maxBytes ?? this.init.maxArtifactBytes,
      signal: opts.signal,
      offline: opts.offline
    }, this.metrics)
  }

  /** Read a whole artifact into memory (small artifacts; prefer `open` for streaming). */
  async cat (cid: string, opts: FetchOptions = {}): Promise<Uint8Array> {
    const { size, content } = await this.open(cid, opts)
    const out = new Uint8Array(size)
    let o = 0
    for await (const chunk of content) { out.set(chunk, o); o += chunk.byteLength }
    return out
  }

  /**
   * Pin an artifact: fetch every missing block (idle timeout per block), pin the DAG atomically, then mark the entry
   * local. A CID nobody announced gets an entry signed by this node (producer = us, name = the CID unless given).
   */
  async pin (cidStr: string, opts: PinOptions = {}): Promise<ArtifactInfo> {
    const cid = parseCid(cidStr)
    const key = cid.toString()
    const existing = await this.registry.get(key)
    if (existing?.local === true && await hasPin(this.c.storage.datastore, cid)) return this.info(existing)
    const timeoutMs = opts.timeoutMs ?? this.init.fetchTimeoutMs
    const release = await this.lock.shared(opts.signal)
    const idle = new IdleTimeout(timeoutMs, opts.signal)
    const lookup = this.lookUpProviders(cid, opts)
    const id = randomBytes(8).toString('hex')
    try {
      const size = await resolveFileSize(this.fs, cid, idle, timeoutMs, opts.offline)
      const maxBytes = opts.maxBytes ?? this.init.maxArtifactBytes
      if (size > maxBytes) throw new StorageError('ERR_TOO_LARGE', `artifact ${key} of ${size} bytes exceeds the ${maxBytes}-byte limit`)
      const bs = this.c.storage.blockstore
      // blocks already cached need no room, so only refuse what can never fit; the blockstore enforces the rest
      if (size > bs.quotaBytes) throw new StorageError('ERR_QUOTA', `artifact ${key} of ${size} bytes cannot fit the ${bs.quotaBytes}-byte quota`)
      await this.registry.commit([this.registry.putPending(id, { op: 'pin', cid: key, startedAt: this.clock.now() })])
      // read the whole file once (the exporter fetches siblings in parallel, every block hash-checked), noting every
      // block it touches: that is the whole DAG, which is then pinned in one atomic batch without a second walk
      const dag: CID[] = []
      try {
        let n = 0
        for await (const chunk of unixfs({ blockstore: this.tracker.reads(dag) }).cat(cid, { signal: idle.signal, offline: opts.offline })) {
          idle.touch()
          n += chunk.byteLength
          if (n > size) throw new StorageError('ERR_CORRUPT', `artifact ${key} yields more bytes than its declared ${size}`)
        }
      } catch (err) {
        if (idle.timedOut) throw new StorageError('ERR_TIMEOUT', `no block of ${key} arrived for ${timeoutMs} ms`, { cause: err })
        throw storageErrorIn(err) ?? err
      }
      await pinBlocks(this.c.storage.datastore, cid, dag, { signal: opts.signal })
      let entry: RegistryEntry
      if (existing != null) {
        entry = { ...existing, local: true }
      } else {
        const meta: ArtifactMeta = { cid: key, name: opts.name ?? key, kind: opts.kind ?? 'other', mediaType: DEFAULT_MEDIA_TYPE, size, producer: this.self, createdAt: this.clock.now() }
        entry = (await this.sign(meta, true)).entry
      }
      await this.registry.commit([this.registry.putEntry(entry), this.registry.delPending(id)])
      this.count(existing, entry)
      this.metrics?.fetches.inc({ result: 'ok' })
      this.c.events?.emit('artifact.pinned', { cid: key, name: entry.meta.name, size })
      this.refreshGauges()
      return this.info(entry)
    } catch (err) {
      this.metrics?.fetches.inc({ result: fetchResult(err) })
      await this.abandon(id, []).catch(e => { this.log.warn({ err: e }, 'cleanup after a failed pin failed; it is retried at the next start') })
      throw err
    } finally {
      idle.clear()
      lookup?.abort()
      release()
    }
  }

  /**
   * Unpin an artifact: its entry stays (as not local) and its blocks become collectable. Returns false when it was not
   * pinned here. Crash-safe: the entry is marked non-local first, together with a marker that finishes the unpin at
   * the next start if we die half-way.
   */
  async unpin (cidStr: string, opts: { signal?: AbortSignal } = {}): Promise<boolean> {
    const cid = parseCid(cidStr)
    const key = cid.toString()
    const release = await this.lock.shared(opts.signal)
    try {
      const entry = await this.registry.get(key)
      const pinned = await hasPin(this.c.storage.datastore, cid, opts)
      if (entry?.local !== true && !pinned) return false
      const id = randomBytes(8).toString('hex')
      const ops = [this.registry.putPending(id, { op: 'unpin', cid: key, startedAt: this.clock.now() })]
      const after = entry != null ? { ...entry, local: false } : undefined
      if (after != null) ops.push(this.registry.putEntry(after))
      await this.registry.commit(ops, opts)
      if (after != null) this.count(entry, after)
      await releasePin(this.c.storage.datastore, cid, opts)
      await this.registry.commit([this.registry.delPending(id)])
      this.c.helia.libp2p.contentRouting.cancelReprovide(cid).catch(() => {})
      this.c.events?.emit('artifact.removed', { cid: key })
      this.refreshGauges()
      return true
    } finally {
      release()
    }
  }

  /**
   * Delete every unpinned block (exclusively: no add or pin runs meanwhile, so nothing half-added is lost) and compact
   * the blockstore so the space is returned to the file system now.
   */
  async gc (opts: { signal?: AbortSignal } = {}): Promise<GcResult> {
    const release = await this.lock.exclusive(opts.signal)
    let result: GcResult
    try {
      result = await collectGarbage(this.c.storage.blockstore, this.c.helia.pins, opts)
    } finally {
      release()
    }
    this.metrics?.gcRuns.inc()
    this.metrics?.gcFreedBytes.inc(result.freedBytes)
    this.refreshGauges()
    return result
  }

  /** Blockstore usage against the quota, and registry counts. */
  async usage (): Promise<StorageUsage> {
    const bs = this.c.storage.blockstore
    return { usedBytes: bs.usedBytes, quotaBytes: bs.quotaBytes, freeBytes: bs.freeBytes, blocks: bs.blockCount, artifacts: { ...this.counts } }
  }

  // ---- internals ----

  /** Finish or undo whatever pending markers a crash left; returns how many there were. */
  private async recover (options: { signal?: AbortSignal }): Promise<number> {
    const pending = await this.registry.pending()
    for (const [id] of pending) await this.abandon(id, [], options)
    return pending.length
  }

  /**
   * Undo an unfinished operation: unless its CID has a local entry (then the pin is legitimately held), drop the pin
   * and every pinned-block reference to it, delete the blocks this add wrote that nothing pins, and the marker.
   */
  private async abandon (id: string, written: CID[], options: { signal?: AbortSignal } = {}): Promise<void> {
    const marker = await this.registry.getPending(id)
    if (marker?.cid != null) {
      const entry = await this.registry.get(marker.cid)
      if (entry?.local !== true) await releasePin(this.c.storage.datastore, CID.parse(marker.cid), options)
    }
    for (const cid of written) {
      if (this.tracker.sharedWithOthers(cid)) continue
      if (!await this.c.helia.pins.isPinned(cid)) await this.c.storage.blockstore.delete(cid)
    }
    if (marker != null) await this.registry.commit([this.registry.delPending(id)])
  }

  private async sign (meta: ArtifactMeta, local: boolean): Promise<{ entry: RegistryEntry, record: Uint8Array }> {
    const seq = this.seq.next()
    const record = await signRecord(this.c.privateKey, DOMAINS.artifact, ARTIFACT_RECORD_VERSION, seq, meta)
    return { record, entry: { meta, record: Buffer.from(record).toString('base64'), seq, local, receivedAt: this.clock.now() } }
  }

  /**
   * Find the root's providers on the DHT in the background, until aborted. Connected peers get our wants at once; only
   * when none of them has delivered the root after a short delay does the DHT get asked (in a well-connected mesh it
   * never is).
   */
  private lookUpProviders (root: CID, opts: { offline?: boolean, signal?: AbortSignal, providers?: string[] }): AbortController | undefined {
    if (opts.offline === true) return undefined
    const ac = new AbortController()
    const signal = AbortSignal.any([ac.signal, this.background.signal, ...(opts.signal != null ? [opts.signal] : [])])
    const hinted = opts.providers ?? []
    if (hinted.length > 0) connectToPeers(this.c.helia.libp2p, hinted, signal, this.log)
    const timer = setTimeout(() => {
      this.c.storage.blockstore.has(root).then(has => {
        if (!has && !signal.aborted) connectToProviders(this.c.helia.libp2p, root, signal, this.log)
      }, () => {})
    }, hinted.length > 0 ? HINTED_PROVIDER_LOOKUP_DELAY_MS : PROVIDER_LOOKUP_DELAY_MS)
    timer.unref?.()
    signal.addEventListener('abort', () => { clearTimeout(timer) }, { once: true })
    return ac
  }

  /** Announce on gossip and provide the root on the DHT, in the background: an add never waits for the network. */
  private afterAdd (root: CID, record: Uint8Array): void {
    const gossip = this.c.gossip
    if (gossip != null) {
      gossip.publish(TOPICS.artifacts, record).then(
        () => { this.metrics?.announcements.inc({ result: 'published' }) },
        err => { this.metrics?.announcements.inc({ result: 'publish_failed' }); this.log.debug({ err: (err as Error).message }, 'artifact announcement not published') })
    }
    if (this.init.provide) {
      provideRoot(this.c.helia.libp2p, root, AbortSignal.any([this.background.signal, AbortSignal.timeout(PROVIDE_TIMEOUT_MS)]), this.log)
    }
  }

  /** Remember a verified announcement from a peer as a known remote artifact. */
  private async remember (rec: SignedRecord<ArtifactMeta>): Promise<void> {
    if (rec.signer === this.self) return
    const meta = rec.payload
    const existing = await this.registry.get(meta.cid)
    // a local copy keeps its entry; among remote ones the newest record wins
    if (existing?.local === true || (existing != null && existing.seq >= rec.seq)) {
      this.metrics?.announcements.inc({ result: 'duplicate' })
      return
    }
    if (existing == null && this.counts.remote >= this.init.maxRemoteEntries) {
      this.metrics?.announcements.inc({ result: 'dropped' })
      this.log.debug({ cid: meta.cid }, 'known-artifact table full: announcement dropped')
      return
    }
    const entry: RegistryEntry = { meta, record: Buffer.from(rec.bytes).toString('base64'), seq: rec.seq, local: false, receivedAt: this.clock.now() }
    await this.registry.commit([this.registry.putEntry(entry)])
    this.count(existing, entry)
    this.metrics?.announcements.inc({ result: 'remembered' })
    this.c.events?.emit('artifact.announced', { cid: meta.cid, name: meta.name, kind: meta.kind, size: meta.size, producer: meta.producer, job: meta.job, round: meta.round })
    this.refreshGauges()
  }

  private info (e: RegistryEntry): ArtifactInfo {
    return { ...e.meta, signature: e.record, local: e.local }
  }

  /** Track an entry replacing `before` in the in-memory counts. */
  private count (before: RegistryEntry | undefined, after: RegistryEntry): void {
    if (before != null) this.counts[before.local ? 'local' : 'remote']--
    this.counts[after.local ? 'local' : 'remote']++
  }

  private refreshGauges (): void {
    if (this.metrics == null) return
    const bs = this.c.storage.blockstore
    this.metrics.usedBytes.set(bs.usedBytes)
    this.metrics.quotaBytes.set(bs.quotaBytes)
    this.metrics.artifacts.set({ location: 'local' }, this.counts.local)
    this.metrics.artifacts.set({ location: 'remote' }, this.counts.remote)
  }
}

/** js-libp2p style factory: `artifactStore(init)(components)`. */
export function artifactStore (init: ArtifactStoreInit = {}): (components: ArtifactStoreComponents) => ArtifactStore {
  return (components) => new ArtifactStore(components, init)
}
