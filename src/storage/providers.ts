/**
 * Finding who has an artifact: the root (only the root, never each block) is provided on the mesh DHT after an add
 * (through a bounded queue of batches: ProvideQueue, batch-provide.ts), and looked up when connected peers do not deliver it to a read or pin. Found providers are dialled; bitswap sends its
 * wantlist to every newly connected peer, so blocks start flowing from them without any per-block lookup.
 */
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { CID } from 'multiformats/cid'
import type { Logger } from '../common/logger.js'
import { spread } from '../common/jitter.js'
import type { ProvideBatch } from './batch-provide.js'
import { HINTED_PROVIDER_LOOKUP_DELAY_MS, PROVIDER_LOOKUP_DELAY_MS, PROVIDE_BATCH_DELAY_MS, PROVIDE_TIMEOUT_MS } from './constants.js'
import type { ArtifactBlockstore, ArtifactNetwork } from './types.js'

/** Providers dialled per lookup at most. */
const MAX_PROVIDERS = 3

/**
 * In the background: look the root up on the DHT and connect to up to three providers we are not connected to. Ends
 * when `signal` aborts (the read finished or gave up); errors are logged, never thrown.
 */
export function connectToProviders (libp2p: ArtifactNetwork, root: CID, signal: AbortSignal, log: Logger): void {
  void (async () => {
    let dialled = 0
    for await (const p of libp2p.contentRouting.findProviders(root, { signal })) {
      if (p.id.equals(libp2p.peerId) || libp2p.getConnections(p.id).length > 0) continue
      try {
        await libp2p.dial(p.multiaddrs.length > 0 ? p.multiaddrs : p.id, { signal })
        if (++dialled >= MAX_PROVIDERS) return
      } catch (err) {
        log.debug({ peer: p.id.toString(), err: (err as Error).message }, 'cannot dial an artifact provider')
      }
    }
  })().catch(err => {
    if (!signal.aborted) log.debug({ cid: root.toString(), err: (err as Error).message }, 'provider lookup failed')
  })
}

/** The peer ids a reader named as an artifact's holders, the first MAX_PROVIDERS of them; malformed ones skipped. */
export function namedPeers (ids: readonly string[]): PeerId[] {
  return ids.slice(0, MAX_PROVIDERS).flatMap(id => { try { return [peerIdFromString(id)] } catch { return [] } })
}

/** In the background: dial the named peers we are not connected to (peers known to hold an artifact). */
export function connectToPeers (libp2p: ArtifactNetwork, peers: string[], signal: AbortSignal, log: Logger): void {
  for (const peer of namedPeers(peers)) {
    if (peer.equals(libp2p.peerId) || libp2p.getConnections(peer).length > 0) continue
    libp2p.dial(peer, { signal }).catch(err => { log.debug({ peer: peer.toString(), err: (err as Error).message }, 'cannot dial an artifact holder') })
  }
}

/** Tuning of the provide queue. */
export interface ProvideQueueInit {
  /** Provides on the network at once (default 2). */
  concurrency?: number
  /** Roots waiting at most; beyond it the oldest waiting one is dropped (default 1024). */
  maxQueued?: number
  /** One provide (or batch) gives up after this long (default PROVIDE_TIMEOUT_MS). */
  timeoutMs?: number
  /**
   * Provide roots in batches with this (batch-provide.ts: one DHT walk and one stream per closest peer per batch)
   * instead of one kad `provide` per root; batches run one at a time.
   */
  batch?: ProvideBatch
  /**
   * A batch starts about this long after its first root was queued, or at once when `maxBatch` roots wait (default
   * 30 s). In a small mesh every batch opens a stream to every peer, whatever it carries: at 5 s, provides were a
   * fifth of a loaded 20-node mesh's CPU, and gossip, not the DHT, tells connected peers of a new artifact at once.
   */
  batchDelayMs?: number
  /**
   * Each delay is drawn from `batchDelayMs` x [1 - jitter, 1 + jitter] (default 0.5), so that nodes whose adds began
   * together (a round's models, a benchmark's start) do not walk and write to each other in the same second: their
   * first batches, each holding about `batchDelayMs` of roots, then spread over 2 x jitter x `batchDelayMs`, which at
   * 0.5 is no faster than steady adds make them (at 0.25 the first batches of 20 nodes came at twice that rate).
   */
  batchJitter?: number
  /** Uniform in [0, 1) (tests fix it). */
  random?: () => number
  /** Roots per batch at most (default 256). */
  maxBatch?: number
}

/** Counters of the provide queue, for logs, metrics and tests. */
export interface ProvideQueueStats { queued: number, inFlight: number, provided: number, failed: number, dropped: number }

/**
 * DHT provides of new roots, queued: each provide is a DHT walk plus an ADD_PROVIDER message to each of the 20
 * closest peers, and one per add in the background (as before) piled up at 50 adds per second until the mesh spent
 * its time answering provides (an add took 7 s, gossip arrived after 16 s). Here at most `concurrency` provides run
 * at once, a root queued twice is provided once, the waiting line is bounded (the oldest waiting root is dropped
 * when it overflows: gossip announcements, not the DHT, tell connected peers about new artifacts; the DHT is for peers
 * that are not connected), and nothing waits for it: `add` only enqueues. With `batch` (the node's default, when
 * its DHT is kad-dht) roots leave in batches, one batch at a time (batch-provide.ts), instead of one provide each.
 */
export class ProvideQueue {
  private readonly waiting = new Map<string, CID>()
  private inFlight = 0
  private provided = 0
  private failed = 0
  private dropped = 0
  private readonly concurrency: number
  private readonly maxQueued: number
  private readonly timeoutMs: number
  private readonly batch?: ProvideBatch
  private readonly batchDelayMs: number
  private readonly batchJitter: number
  private readonly random: () => number
  private readonly maxBatch: number
  private timer?: ReturnType<typeof setTimeout>

  constructor (private readonly libp2p: Pick<ArtifactNetwork, 'contentRouting'>, private readonly signal: AbortSignal, private readonly log: Logger, init: ProvideQueueInit = {}) {
    this.concurrency = init.concurrency ?? 2
    this.maxQueued = init.maxQueued ?? 1024
    this.timeoutMs = init.timeoutMs ?? PROVIDE_TIMEOUT_MS
    this.batch = init.batch
    this.batchDelayMs = init.batchDelayMs ?? PROVIDE_BATCH_DELAY_MS
    this.batchJitter = init.batchJitter ?? 0.5
    this.random = init.random ?? Math.random
    this.maxBatch = init.maxBatch ?? 256
    signal.addEventListener('abort', () => { clearTimeout(this.timer) }, { once: true })
  }

  /** Queue a root; returns at once. */
  add (root: CID): void {
    if (this.signal.aborted) return
    const key = root.toString()
    if (this.waiting.has(key)) return
    this.waiting.set(key, root)
    if (this.waiting.size > this.maxQueued) {
      this.waiting.delete(this.waiting.keys().next().value as string)
      this.dropped++
    }
    this.pump()
  }

  /** Forget a root still waiting (it was unpinned). */
  cancel (root: CID): void {
    this.waiting.delete(root.toString())
  }

  stats (): ProvideQueueStats {
    return { queued: this.waiting.size, inFlight: this.inFlight, provided: this.provided, failed: this.failed, dropped: this.dropped }
  }

  private pump (): void {
    if (this.batch != null) { this.pumpBatch(this.batch); return }
    while (this.inFlight < this.concurrency && this.waiting.size > 0 && !this.signal.aborted) {
      const [key, root] = this.waiting.entries().next().value as [string, CID]
      this.waiting.delete(key)
      this.inFlight++
      this.libp2p.contentRouting.provide(root, { signal: AbortSignal.any([this.signal, AbortSignal.timeout(this.timeoutMs)]) }).then(() => {
        this.provided++
      }, err => {
        this.failed++
        if (!this.signal.aborted) this.log.debug({ cid: key, err: (err as Error).message }, 'DHT provide failed')
      }).finally(() => {
        this.inFlight--
        this.pump()
      })
    }
  }

  /** Start a batch when `maxBatch` roots wait or the delay since the first of them is over; one batch at a time. */
  private pumpBatch (batch: ProvideBatch, due = false): void {
    if (this.inFlight > 0 || this.waiting.size === 0 || this.signal.aborted) return
    if (!due && this.waiting.size < this.maxBatch) {
      if (this.timer == null) {
        const delay = spread(this.batchDelayMs, this.batchJitter, this.random())
        this.timer = setTimeout(() => { this.timer = undefined; this.pumpBatch(batch, true) }, delay)
        this.timer.unref?.()
      }
      return
    }
    clearTimeout(this.timer)
    this.timer = undefined
    const roots = [...this.waiting.values()].slice(0, this.maxBatch)
    for (const root of roots) this.waiting.delete(root.toString())
    this.inFlight = roots.length
    batch(roots, AbortSignal.any([this.signal, AbortSignal.timeout(this.timeoutMs)])).then(() => {
      this.provided += roots.length
    }, err => {
      this.failed += roots.length
      if (!this.signal.aborted) this.log.debug({ roots: roots.length, err: (err as Error).message }, 'batched DHT provide failed')
    }).finally(() => {
      this.inFlight = 0
      this.pumpBatch(batch)
    })
  }
}

/** What a provider lookup uses. */
export interface ProviderLookupComponents {
  libp2p: ArtifactNetwork
  /** Where the root lands once a peer delivered it. */
  blockstore: Pick<ArtifactBlockstore, 'has'>
  log: Logger
}

/** Options of a lookup: the read's own. */
export interface ProviderLookupOptions {
  offline?: boolean
  signal?: AbortSignal
  /** Peers known to hold it: dialled at once. */
  providers?: string[]
}

/**
 * Find the root's providers in the background, until the returned controller, `background` or the caller's signal
 * aborts. Connected peers get our wants at once; only when none of them has delivered the root after a short delay
 * does the DHT get asked (in a well-connected mesh it never is). Undefined when offline (nothing to look up).
 */
export function lookUpProviders (c: ProviderLookupComponents, root: CID, opts: ProviderLookupOptions, background: AbortSignal): AbortController | undefined {
  if (opts.offline === true) return undefined
  const ac = new AbortController()
  const signal = AbortSignal.any([ac.signal, background, ...(opts.signal != null ? [opts.signal] : [])])
  const hinted = opts.providers ?? []
  if (hinted.length > 0) connectToPeers(c.libp2p, hinted, signal, c.log)
  const timer = setTimeout(() => {
    c.blockstore.has(root).then(has => {
      if (!has && !signal.aborted) connectToProviders(c.libp2p, root, signal, c.log)
    }, () => {})
  }, hinted.length > 0 ? HINTED_PROVIDER_LOOKUP_DELAY_MS : PROVIDER_LOOKUP_DELAY_MS)
  timer.unref?.()
  signal.addEventListener('abort', () => { clearTimeout(timer) }, { once: true })
  return ac
}
