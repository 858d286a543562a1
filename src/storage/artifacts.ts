/**
 * The artifact store, a facade: artifacts as chunked UnixFS files in Helia, with signed provenance in the Level
 * registry. An add streams bytes into UnixFS (1 MiB raw leaves) under the quota and the size cap, pins the DAG, and
 * only then writes the registry entry, in one batch with the removal of its pending marker (recovery.ts undoes what a
 * crash leaves). Blocks from peers are hash-checked by Helia before they are stored. New artifacts are announced on
 * gossip (announcements.ts: signed metadata, never bytes) and their root provided on the mesh DHT (providers.ts).
 */
import { createReadStream } from 'node:fs'
import { stat as fsStat } from 'node:fs/promises'
import { basename } from 'node:path'
import { unixfs, type UnixFS } from '@helia/unixfs'
import type { PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { systemClock, type Clock } from '../common/clock.js'
import { silentLogger, type Logger } from '../common/logger.js'
import { Announcements } from './announcements.js'
import { asBatchDht, batchProvider, providerWalks, walkPeers, type RegionWalks } from './batch-provide.js'
import { BlockTracker } from './block-tracking.js'
import { DEFAULT_ARTIFACT_STORE_INIT, DEFAULT_MEDIA_TYPE, STOP_DRAIN_MS } from './constants.js'
import { StorageError } from './errors.js'
import { collectGarbage } from './gc.js'
import { SharedLock } from './lock.js'
import { hasPin, pinBlocks, releasePin } from './pins.js'
import type { ArtifactMeta } from './protocol/artifact-record.js'
import { ProvideQueue, lookUpProviders, type ProvideQueueStats, type ProviderLookupOptions } from './providers.js'
import { hintedSession } from './hinted.js'
import { openArtifact, readAll, readWholeDag, resolveFileSize } from './read.js'
import { Recovery, operationId } from './recovery.js'
import { ArtifactRegistry, entryInfo as info, type RegistryEntry } from './registry.js'
import { IdleTimeout, metered, type ByteSource } from './streams.js'
import { ArtifactTally } from './tally.js'
import { checkAddFields, checkRoom, fetchResult, parseCid, storageErrorIn, stripUndefined } from './util.js'
import type { ArtifactFilter, ArtifactInfo, GcResult, StorageUsage } from './api-schemas.js'
import type { AddArtifactOptions, ArtifactContent, ArtifactStoreComponents, ArtifactStoreInit, FetchOptions, PinOptions } from './types.js'

/** A signed artifact store on Helia; create with `artifactStore(init)(components)`. */
export class ArtifactStore {
  private readonly fs: UnixFS
  private readonly registry: ArtifactRegistry
  private readonly lock = new SharedLock()
  private readonly clock: Clock
  private readonly log: Logger
  private readonly init: Required<ArtifactStoreInit>
  private readonly tracker: BlockTracker
  private readonly tally: ArtifactTally
  private readonly announcements: Announcements
  private readonly recovery: Recovery
  private background = new AbortController()
  private provides?: ProvideQueue
  /** The walks the provide batches reuse (undefined without kad-dht: then each root is provided on its own). */
  private walks?: { regions: RegionWalks, k: number }
  private started = false

  constructor (private readonly c: ArtifactStoreComponents, init: ArtifactStoreInit = {}) {
    this.init = { ...DEFAULT_ARTIFACT_STORE_INIT, ...stripUndefined(init) }
    this.clock = c.clock ?? systemClock
    this.log = c.logger ?? silentLogger
    this.fs = unixfs(c.helia)
    this.tracker = new BlockTracker(c.helia.blockstore)
    this.registry = new ArtifactRegistry(c.storage.state)
    this.tally = new ArtifactTally(c.storage.blockstore, c.metrics)
    this.announcements = new Announcements({
      privateKey: c.privateKey, registry: this.registry, tally: this.tally, clock: this.clock, log: this.log,
      gossip: c.gossip, events: c.events, metrics: c.metrics
    }, this.init)
    this.recovery = new Recovery({ registry: this.registry, storage: c.storage, pins: c.helia.pins, tracker: this.tracker })
  }

  /**
   * The closest peers of a walk towards any key that ended normally (the node's discovery walks): in a mesh of fewer
   * than k peers it found every peer it could reach, and the provide batches reuse it (batch-provide.ts).
   */
  noteWalk (closest: PeerId[]): void {
    const walks = this.walks
    if (walks == null) return
    void walkPeers(closest, this.c.helia.libp2p.peerId).then(peers => { walks.regions.exhaustive(peers, walks.k) })
  }

  /** Repair what a crash left unfinished, then listen for announcements. Idempotent. */
  async start (options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.started) return
    this.background = new AbortController()
    const libp2p = this.c.helia.libp2p
    const dht = asBatchDht(libp2p.services.dht)
    const regions = providerWalks()
    this.walks = dht != null ? { regions, k: dht.k } : undefined
    this.provides = new ProvideQueue(libp2p, this.background.signal, this.log, { batch: dht != null ? batchProvider(libp2p, dht, regions) : undefined, batchDelayMs: this.init.provideBatchDelayMs })
    const repaired = await this.recovery.recoverAll(options)
    if (repaired > 0 && this.init.gcOnRecovery) {
      const { freedBytes } = await this.gc(options)
      this.log.info({ repaired, freedBytes }, 'recovered from unfinished storage operations')
    }
    await this.tally.load(this.registry)
    this.announcements.listen()
    this.started = true
    this.tally.refresh()
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

  /** Add an artifact from bytes, an (async) iterable of chunks or a Node readable stream. */
  async add (source: ByteSource, opts: AddArtifactOptions): Promise<ArtifactInfo> {
    const started = this.clock.now()
    const kind = opts.kind ?? 'other'
    const mediaType = opts.mediaType ?? DEFAULT_MEDIA_TYPE
    checkAddFields({ name: opts.name, kind, mediaType, job: opts.job, round: opts.round })
    const bs = this.c.storage.blockstore
    if (opts.expectedSize != null) checkRoom(opts.expectedSize, this.init.maxArtifactBytes, bs)
    const release = await this.lock.shared(opts.signal)
    const id = operationId()
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
      const meta: ArtifactMeta = stripUndefined({ cid, name: opts.name, kind, mediaType, size, producer: this.announcements.self, job: opts.job, round: opts.round, createdAt: this.clock.now() })
      const { entry, record } = await this.announcements.sign(meta)
      await this.commitEntry(entry, id)
      this.c.metrics?.adds.inc({ result: 'ok' })
      this.c.metrics?.addedBytes.inc(size)
      this.c.metrics?.addSeconds.observe((this.clock.now() - started) / 1000)
      this.c.events?.emit('artifact.added', { cid, name: meta.name, kind, size, job: meta.job, round: meta.round })
      if (opts.announce !== false) this.announce(root, record)
      return info(entry)
    } catch (err) {
      const se = storageErrorIn(err)
      this.c.metrics?.adds.inc({ result: se?.code === 'ERR_QUOTA' ? 'quota' : se?.code === 'ERR_TOO_LARGE' ? 'too_large' : 'error' })
      await this.recovery.abandon(id, written).catch(e => { this.log.warn({ err: e }, 'cleanup after a failed add failed; gc will reclaim the blocks') })
      throw se ?? err
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
    return (await this.registry.list(filter, options)).map(info)
  }

  /** The registry entry of a CID, or undefined. */
  async meta (cid: string, options?: { signal?: AbortSignal }): Promise<ArtifactInfo | undefined> {
    const e = await this.registry.get(parseCid(cid).toString(), options)
    return e != null ? info(e) : undefined
  }

  /**
   * Open an artifact for reading: from the blockstore, or block by block from peers over bitswap. Resolves once the
   * root is here and the size is known (ERR_NOT_FOUND when no peer delivers it within the timeout, ERR_TOO_LARGE over
   * the cap). Blocks fetched for a read are cached unpinned: GC may reclaim them.
   */
  async open (cidStr: string, opts: FetchOptions = {}): Promise<ArtifactContent> {
    const cid = parseCid(cidStr)
    const lookup = this.lookUp(cid, opts)
    const session = opts.offline === true ? undefined : hintedSession(this.c.helia, cid, opts.providers)
    return await openArtifact({ fs: this.fs, hinted: session?.fs }, cid, {
      onDone: () => { lookup?.abort(); session?.close() },
      timeoutMs: opts.timeoutMs ?? this.init.fetchTimeoutMs,
      maxBytes: opts.maxBytes ?? this.init.maxArtifactBytes,
      signal: opts.signal,
      offline: opts.offline
    }, this.c.metrics)
  }

  /** Read a whole artifact into memory (small artifacts; prefer `open` for streaming). */
  async cat (cid: string, opts: FetchOptions = {}): Promise<Uint8Array> {
    return await readAll(await this.open(cid, opts))
  }

  /**
   * Pin an artifact: fetch every missing block (idle timeout per block), pin the DAG atomically, then mark the entry
   * local. A CID nobody announced gets an entry signed by this node (producer = us, name = the CID unless given).
   */
  async pin (cidStr: string, opts: PinOptions = {}): Promise<ArtifactInfo> {
    const cid = parseCid(cidStr)
    const key = cid.toString()
    const existing = await this.registry.get(key)
    if (existing?.local === true && await hasPin(this.c.storage.datastore, cid)) return info(existing)
    const timeoutMs = opts.timeoutMs ?? this.init.fetchTimeoutMs
    const release = await this.lock.shared(opts.signal)
    const idle = new IdleTimeout(timeoutMs, opts.signal)
    const lookup = this.lookUp(cid, opts)
    const id = operationId()
    try {
      const size = await resolveFileSize(this.fs, cid, idle, timeoutMs, opts.offline)
      const maxBytes = opts.maxBytes ?? this.init.maxArtifactBytes
      if (size > maxBytes) throw new StorageError('ERR_TOO_LARGE', `artifact ${key} of ${size} bytes exceeds the ${maxBytes}-byte limit`)
      const bs = this.c.storage.blockstore
      // blocks already cached need no room, so only refuse what can never fit; the blockstore enforces the rest
      if (size > bs.quotaBytes) throw new StorageError('ERR_QUOTA', `artifact ${key} of ${size} bytes cannot fit the ${bs.quotaBytes}-byte quota`)
      await this.registry.commit([this.registry.putPending(id, { op: 'pin', cid: key, startedAt: this.clock.now() })])
      const dag = await readWholeDag(this.tracker, cid, size, idle, timeoutMs, opts.offline)
      await pinBlocks(this.c.storage.datastore, cid, dag, { signal: opts.signal })
      const entry: RegistryEntry = existing != null
        ? { ...existing, local: true }
        : (await this.announcements.sign({ cid: key, name: opts.name ?? key, kind: opts.kind ?? 'other', mediaType: DEFAULT_MEDIA_TYPE, size, producer: this.announcements.self, createdAt: this.clock.now() })).entry
      await this.commitEntry(entry, id)
      this.c.metrics?.fetches.inc({ result: 'ok' })
      this.c.events?.emit('artifact.pinned', { cid: key, name: entry.meta.name, size })
      return info(entry)
    } catch (err) {
      this.c.metrics?.fetches.inc({ result: fetchResult(err) })
      await this.recovery.abandon(id, []).catch(e => { this.log.warn({ err: e }, 'cleanup after a failed pin failed; it is retried at the next start') })
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
      const id = operationId()
      const ops = [this.registry.putPending(id, { op: 'unpin', cid: key, startedAt: this.clock.now() })]
      const after = entry != null ? { ...entry, local: false } : undefined
      if (after != null) ops.push(this.registry.putEntry(after))
      await this.registry.commit(ops, opts)
      if (after != null) this.tally.replace(entry, after)
      await releasePin(this.c.storage.datastore, cid, opts)
      await this.registry.commit([this.registry.delPending(id)])
      this.provides?.cancel(cid)
      this.c.helia.libp2p.contentRouting.cancelReprovide(cid).catch(() => {})
      this.c.events?.emit('artifact.removed', { cid: key })
      this.tally.refresh()
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
    this.c.metrics?.gcRuns.inc()
    this.c.metrics?.gcFreedBytes.inc(result.freedBytes)
    this.tally.refresh()
    return result
  }

  /** Blockstore usage against the quota, and registry counts. */
  async usage (): Promise<StorageUsage> {
    const bs = this.c.storage.blockstore
    return { usedBytes: bs.usedBytes, quotaBytes: bs.quotaBytes, freeBytes: bs.freeBytes, blocks: bs.blockCount, artifacts: this.tally.snapshot() }
  }

  /** The DHT provide queue's counters (undefined before start): roots waiting, in flight, provided, failed, dropped. */
  provideStats (): ProvideQueueStats | undefined {
    return this.provides?.stats()
  }

  // ---- internals ----

  /** Write a local entry and drop the operation's marker in one batch, then count it. */
  private async commitEntry (entry: RegistryEntry, pendingId: string): Promise<void> {
    const previous = await this.registry.get(entry.meta.cid)
    await this.registry.commit([this.registry.putEntry(entry), this.registry.delPending(pendingId)])
    this.tally.replace(previous, entry)
    this.tally.refresh()
  }

  private lookUp (root: CID, opts: ProviderLookupOptions): AbortController | undefined {
    return lookUpProviders({ libp2p: this.c.helia.libp2p, blockstore: this.c.storage.blockstore, log: this.log }, root, opts, this.background.signal)
  }

  /** Announce on gossip and queue the root's DHT provide (providers.ts): an add never waits for the network. */
  private announce (root: CID, record: Uint8Array): void {
    this.announcements.publish(record)
    if (this.init.provide) this.provides?.add(root)
  }
}

/** js-libp2p style factory: `artifactStore(init)(components)`. */
export function artifactStore (init: ArtifactStoreInit = {}): (components: ArtifactStoreComponents) => ArtifactStore {
  return (components) => new ArtifactStore(components, init)
}
