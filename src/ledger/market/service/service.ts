/**
 * The market service: the books this node keeps and the orders it makes and takes. Orders arrive by gossip on
 * `meshnode/market/<market>/1`, by a snapshot over `/meshnode/market-sync/1.0.0` from each peer this node meets, or
 * from this node's API; each goes through one admission: schema and rules, chain and contract, peer binding, expiry,
 * signature (cached), the ask's hardware class, and its funding and status on chain (cached reads). An ask whose maker
 * node's hardware record is not known yet waits for it (bounded, `hardwareWaitMs`), then is admitted or refused
 * `hardware-unknown`. Funding is shared across each maker's orders (commitments.ts): a newcomer the maker's earlier
 * orders leave unbacked is refused `unfunded`. A refused order carries its reason (event `market.order-refused`;
 * gossip rejects lower the sender's score). The market's indexer applies the ComputeMarket's fill and cancel events
 * to the books; a periodic pass drops expired orders and, reading one balance per maker and source, the unfunded.
 * A gossiped order refused for this node's reasons (a chain read failed, its lane read is older than the order) is
 * admitted again after a back-off (admission-retry.ts).
 * Fills and cancels are chain-client intents (settle.ts). It waits for the ledger: until then the API answers 409.
 */
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { EventSink } from '../../../common/events.js'
import type { Logger } from '../../../common/logger.js'
import { GossipValidationError } from '../../../common/errors.js'
import type { GossipProcessor } from '../../../protocols/gossip.js'
import type { PenaltyBook } from '../../../protocols/penalties.js'
import { chainIndexer, type ChainIndexer, type ChainKv, type IndexedEvent } from '../../chain/index.js'
import { computeMarketAbi } from '../../contracts/index.js'
import { withLocalChainLock } from '../../local/anvil.js'
import type { LedgerChain, LedgerState } from '../../service.js'
import { MarketBooks, bookKeyOf } from '../books.js'
import type { BookEntry } from '../core/types.js'
import { MarketError, REFUSALS, gossipErrorOf, type Refusal } from '../errors.js'
import { FundingChecker } from '../funding.js'
import { decodeOrderMessage, encodeOrderMessage, validateOrderMessage, type ValidOrder } from '../protocol/message.js'
import { checkAskHardware } from '../protocol/resource-class.js'
import { COMPUTE_MARKET, MARKET_SYNC_PROTOCOL, marketNamesOf, marketTopic, tradeMarketName, type MarketName, type MarketSpec } from '../protocol/topic.js'
import { OrderVerifier } from '../protocol/verify.js'
import { ADMISSION_RETRY_DEFAULTS, AdmissionRetry } from './admission-retry.js'
import { ChainEvents } from './chain-events.js'
import { MakerCommitments, fundingPass, type FundingPassResult } from './commitments.js'
import type { ComputeRunner, VoucherBook } from './compute.js'
import { HardwareWait, HeldAsk } from './hardware-wait.js'
import type { MarketEvents } from './events.js'
import type { MarketMetrics } from './metrics.js'
import type { MarketOptions } from './options.js'
import { LOCAL_QUOTE, ensureLocalQuote, quoteFaucet } from './quote.js'
import { Settlement } from './settle.js'
import { requestSnapshot, serveSnapshot } from './sync.js'
import type { ProviderFacts } from './view-of.js'

/** The market's init: its options and the network (on `local` it deploys and funds the test quote token). */
export interface MarketInit extends MarketOptions { network: string }

/** What the market uses of the node. */
export interface MarketComponents {
  peerId: string
  libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol' | 'getPeers' | 'addEventListener' | 'removeEventListener'>
  gossip: Pick<GossipProcessor, 'register' | 'publish'>
  penalties: Pick<PenaltyBook, 'penalise'>
  ledger: { whenStarted: () => Promise<LedgerState>, chain: () => LedgerChain | undefined }
  /** Where the market's event indexer keeps its cursor (not the ledger's store: its keys would collide). */
  store: ChainKv
  events: EventSink<MarketEvents>
  logger: Logger
  metrics?: MarketMetrics
  /** What the node knows of a peer (hardware record, measured speed, reputation); cheap, synchronous. */
  providerFacts?: (peerId: string) => ProviderFacts | undefined
  /** Calls `listener` with each peer whose first hardware record arrives (asks waiting for it are admitted then). */
  hardwareArrivals?: (listener: (peerId: string) => void) => () => void
  /** Compute jobs: signing, checking and redeeming vouchers (the ledger's rewards), and running jobs (training's port). */
  vouchers?: VoucherBook
  computeRunner?: ComputeRunner
}

/** A market this node serves: its spec plus the quote token's symbol and decimals. */
export type ServedMarket = MarketSpec & { symbol: string | null, decimals: number }

/** What the market has once the ledger is up. */
export interface MarketRuntime {
  chain: LedgerChain
  markets: Map<string, ServedMarket>
  verifier: OrderVerifier
  funding: FundingChecker
  settlement: Settlement
  indexer: ChainIndexer
}

type Via = 'gossip' | 'sync' | 'api'
type Decoded = ReturnType<typeof decodeOrderMessage>

const nowSec = (): bigint => BigInt(Math.floor(Date.now() / 1000))
/** Whether an admission failed for a reason of this node's (a chain read, a lane read older than the order): try later. */
const retried = (err: unknown): boolean => err instanceof MarketError ? err.reason === 'lane-ahead' : !(err instanceof HeldAsk)

/** Pause between bring-up attempts. */
const RETRY_MS = 5000

/** The market service core: admission, books, re-validation, sync, chain events (the API is in api.ts). */
export class MarketCore {
  readonly bookSet: MarketBooks
  /** hash -> book key, for lookups by hash across books. */
  readonly where = new Map<string, string>()
  rt?: MarketRuntime
  failure?: string
  private timer?: NodeJS.Timeout
  private retryTimer?: NodeJS.Timeout
  private bringing?: Promise<void>
  private stopped = false
  private revalidating = false
  private unsubscribe?: () => void
  private readonly synced = new Set<string>()
  /** Each maker's booked orders per funding source, oldest first. */
  readonly commitments = new MakerCommitments()
  /** Asks waiting for their maker node's hardware record. */
  readonly pending: HardwareWait<{ m: Decoded, via: Via, from: string | null }>
  /** Gossiped orders whose admission failed for this node's reasons (admission-retry.ts), admitted again later. */
  readonly retry = new AdmissionRetry<{ data: Uint8Array, from: string }>(ADMISSION_RETRY_DEFAULTS, async ({ data, from }) => {
    try {
      const a = await this.admit(data, 'gossip', from)
      this.insert(a.v, a.filled, 'gossip')
      return 'settled'
    } catch (err) {
      return retried(err) ? 'again' : 'settled'
    }
  })

  /** What the last re-validation's funding pass did (sources, orders, contract calls), for tests and logs. */
  lastPass?: FundingPassResult
  /** The ComputeMarket's fill and cancel events, applied to the books. */
  readonly chainEvents = new ChainEvents(this)
  private hardwareUnsubscribe?: () => void
  readonly entryOf = (hash: string): BookEntry<ValidOrder> | undefined => {
    const key = this.where.get(hash)
    return key === undefined ? undefined : this.bookSet.book(key).get(hash)
  }

  private readonly onIdentify = (evt: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void => {
    if (evt.detail.protocols.includes(MARKET_SYNC_PROTOCOL)) void this.syncFrom(evt.detail.peerId)
  }

  constructor (readonly c: MarketComponents, readonly init: MarketInit) {
    this.bookSet = new MarketBooks({ maxOrders: init.maxOrdersPerBook })
    this.pending = new HardwareWait({ maxPerPeer: init.maxPendingPerPeer, maxTotal: init.maxPending, waitMs: init.hardwareWaitMs }, {
      known: peer => this.c.providerFacts?.(peer)?.hardware !== undefined,
      readmit: ({ m, via, from }) => {
        this.admit(m, via, from).then(a => { this.insert(a.v, a.filled, via) }, (err: Error) => {
          if (!(err instanceof MarketError)) this.c.logger.debug({ err: err.message }, 'held ask not admitted')
        })
      },
      refuse: ({ m, via, from }, hash, r) => { this.refused(m.ok ? m.value.market : 'unknown', hash, r, via, from) }
    })
  }

  /** The market names served: `compute`, and `ftns-<symbol>` per quote token (plus the test token on `local`). */
  marketNames (): MarketName[] {
    return marketNamesOf(this.init)
  }

  async start (): Promise<void> {
    if (!this.init.enabled) return
    this.stopped = false
    for (const name of this.marketNames()) {
      this.c.gossip.register<{ v: ValidOrder, filled: bigint }>({
        topic: marketTopic(name),
        validate: async (data, ctx) => await this.validateGossip(data, ctx.propagationSource),
        deliver: ({ v, filled }) => { this.insert(v, filled, 'gossip') }
      })
    }
    await this.c.libp2p.handle(MARKET_SYNC_PROTOCOL, (stream) => { void serveSnapshot(stream, markets => this.snapshot(markets), this.init.syncTimeoutMs) }, { maxInboundStreams: 8 })
    this.c.libp2p.addEventListener('peer:identify', this.onIdentify)
    this.hardwareUnsubscribe = this.c.hardwareArrivals?.(peer => { this.pending.release(peer) })
    this.bringing = this.bringUpUntilReady()
  }

  /** Bring-up, retried every few seconds while it fails (a busy local-chain lock, an RPC down); `failure` says why. */
  private async bringUpUntilReady (): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.bringUp()
        this.failure = undefined
        return
      } catch (err) {
        this.unsubscribe?.()
        this.unsubscribe = undefined
        this.failure = (err as Error).message.split('\n')[0].slice(0, 300)
        if (attempt === 0) this.c.logger.warn({ err: this.failure }, 'market unavailable; retrying')
        else this.c.logger.debug({ err: this.failure, attempt }, 'market bring-up failed again')
      }
      await new Promise<void>(resolve => { this.retryTimer = setTimeout(resolve, RETRY_MS) })
    }
  }

  private async bringUp (): Promise<void> {
    const state = await this.c.ledger.whenStarted()
    const chain = this.c.ledger.chain()
    if (this.stopped) return
    if (state !== 'ready' || chain === undefined) throw new Error(`the ledger is ${state}`)
    const markets = new Map<string, ServedMarket>([[COMPUTE_MARKET, { name: COMPUTE_MARKET, kind: 'compute', symbol: null, decimals: 18 }]])
    for (const q of this.init.quotes) markets.set(tradeMarketName(q.symbol), { name: tradeMarketName(q.symbol), kind: 'trade', quote: q.address, unitSize: BigInt(q.unitSize), symbol: q.symbol, decimals: q.decimals })
    if (this.init.network === 'local' && chain.anvilPort !== undefined) {
      const lq = this.init.localQuote
      const quote = await withLocalChainLock(chain.anvilPort, async () => {
        const address = await ensureLocalQuote(chain.provider, lq.symbol)
        await quoteFaucet(chain.provider, chain.wallet.address, BigInt(lq.faucet))
        return address
      }, { runDir: chain.runDir })
      markets.set(tradeMarketName(lq.symbol), { name: tradeMarketName(lq.symbol), kind: 'trade', quote, unitSize: BigInt(lq.unitSize), symbol: lq.symbol, decimals: LOCAL_QUOTE.decimals })
    }
    const contract = chain.contracts.ComputeMarket
    const funding = new FundingChecker({ market: contract, vault: chain.contracts.CreditVault, ftns: chain.contracts.FTNSToken, ttlMs: this.init.fundingTtlMs }, { runner: chain.provider })
    const head = await chain.provider.getBlockNumber()
    const indexer = chainIndexer({ contracts: [{ name: 'ComputeMarket', address: contract, abi: computeMarketAbi }], fromBlock: head, pollMs: 500 })({ provider: chain.provider, store: this.c.store, logger: this.c.logger, heads: chain.heads })
    this.unsubscribe = indexer.subscribe((e, removed) => { if (!removed) void this.chainEvents.apply(e) })
    try { await indexer.start() } catch (err) { await Promise.resolve(indexer.stop()).catch(() => {}); throw err }
    if (this.stopped) { this.unsubscribe?.(); await indexer.stop(); return }
    this.rt = { chain, markets, verifier: new OrderVerifier(BigInt(chain.chainId), contract), funding, settlement: new Settlement(chain, funding), indexer }
    this.timer = setInterval(() => { void this.revalidate() }, this.init.revalidateMs)
    this.timer.unref()
    this.pending.start()
    this.c.logger.info({ markets: [...markets.keys()] }, 'market ready')
    for (const p of this.c.libp2p.getPeers()) void this.syncFrom(p)
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    clearTimeout(this.retryTimer)
    this.hardwareUnsubscribe?.()
    this.pending.stop()
    this.retry.clear()
    this.c.libp2p.removeEventListener('peer:identify', this.onIdentify)
    await this.c.libp2p.unhandle(MARKET_SYNC_PROTOCOL).catch(() => {})
    // a bring-up waiting on a stuck ledger must not hold the node's shutdown (it checks `stopped` when it resumes)
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.bringing, new Promise<void>(resolve => { timer = setTimeout(resolve, 2000) })])
    clearTimeout(timer)
    this.unsubscribe?.()
    await this.rt?.indexer.stop()
    this.rt = undefined
  }

  /** The runtime, or a `not-ready` refusal that says why. */
  ready (): MarketRuntime {
    if (this.rt !== undefined) return this.rt
    if (!this.init.enabled) throw new MarketError('not-ready', 'the market is switched off on this node (market.enabled: false)')
    throw new MarketError('not-ready', this.failure !== undefined ? `the market could not start: ${this.failure}` : 'the market is still starting (waiting for the ledger)')
  }

  refused (market: string, hash: string | null, r: Refusal, via: Via, from: string | null): void {
    if (r.reason === 'duplicate') return
    this.c.metrics?.refusals.inc({ reason: r.reason, via })
    this.c.events.emit('market.order-refused', { market, hash, reason: r.reason, message: r.message, via, from })
  }

  /**
   * Every check of an order message (see the module comment): the order and the units already filled, or a
   * MarketError with the reason. Chain read failures propagate as they are (not the order's fault).
   */
  async admit (bytesOrMessage: Uint8Array | ReturnType<typeof decodeOrderMessage>, via: Via, from: string | null): Promise<{ v: ValidOrder, filled: bigint }> {
    const rt = this.ready()
    const m = bytesOrMessage instanceof Uint8Array ? decodeOrderMessage(bytesOrMessage) : bytesOrMessage
    const fail = (market: string, hash: string | null, r: Refusal): MarketError => { this.refused(market, hash, r, via, from); return MarketError.of(r) }
    if (!m.ok) throw fail('unknown', null, m.refusal)
    const spec = rt.markets.get(m.value.market)
    if (spec === undefined) throw fail(m.value.market, null, { reason: 'unknown-market', message: `this node serves no market ${m.value.market}` })
    const checked = validateOrderMessage(m.value, { market: spec, chainId: BigInt(rt.chain.chainId), contract: rt.chain.contracts.ComputeMarket, now: nowSec(), verifier: rt.verifier })
    if (!checked.ok) throw fail(m.value.market, null, checked.refusal)
    const v = checked.value
    if (this.where.has(v.hash)) throw fail(spec.name, v.hash, { reason: 'duplicate', message: `order ${v.hash} is already in the book` })
    if (v.kind === 'compute' && v.order.side === 0) {
      // an ask is checked against its maker node's signed hardware record; until this node has it, the ask waits
      const hw = this.c.providerFacts?.(m.value.peer)?.hardware
      if (hw === undefined) {
        if (via === 'api') throw fail(spec.name, v.hash, { reason: 'hardware-unknown', message: "this node's own hardware record is not ready yet" })
        this.pending.hold(m.value.peer, v.hash, { m, via, from }, r => fail(spec.name, v.hash, r))
      }
      const ok = checkAskHardware(v.order.resourceClass, hw)
      if (!ok.ok) throw fail(spec.name, v.hash, ok.refusal)
    }
    const funded = await rt.funding.check(v)
    if (!funded.ok) throw fail(spec.name, v.hash, funded.refusal)
    const source = rt.funding.sourceOf(v)
    if (source !== undefined && funded.value.available !== undefined) {
      const short = this.commitments.atAdmission(v, source, funded.value.available, funded.value.remaining, this.entryOf)
      if (short !== undefined) throw fail(spec.name, v.hash, short)
    }
    return { v, filled: funded.value.filled }
  }

  private async validateGossip (data: Uint8Array, from: string): Promise<{ v: ValidOrder, filled: bigint }> {
    if (this.rt === undefined) throw new GossipValidationError('ignore', 'ERR_NOT_READY', 'the market is not ready')
    try {
      return await this.admit(data, 'gossip', from)
    } catch (err) {
      if (err instanceof HeldAsk) throw new GossipValidationError('ignore', 'ERR_HARDWARE_PENDING', err.message)
      if (retried(err)) this.retry.hold({ data, from })
      if (!(err instanceof MarketError)) throw new GossipValidationError('ignore', 'ERR_CHAIN_UNAVAILABLE', (err as Error).message)
      if (REFUSALS[err.reason].gossip === 'reject') this.c.penalties.penalise(from)
      throw gossipErrorOf({ reason: err.reason, message: err.message })
    }
  }

  /** Puts an admitted order into its book. */
  insert (v: ValidOrder, filled: bigint, via: Via): boolean {
    if (this.where.has(v.hash)) return false
    const source = this.rt?.funding.sourceOf(v)
    const short = source === undefined ? undefined : this.commitments.atBooking(v, source, (v.kind === 'compute' ? v.order.maxUnits : v.order.amount) - filled, this.entryOf)
    if (short !== undefined) { this.refused(v.message.market, v.hash, short, via, null); return false }
    const r = this.bookSet.insert(v, nowSec(), filled)
    if (!r.ok) { this.refused(v.message.market, v.hash, r.refusal, via, null); return false }
    this.where.set(v.hash, bookKeyOf(v))
    if (source !== undefined) this.commitments.add(source, v.hash)
    // a fill, cancel or lane cancel seen while it was being admitted: read its status again
    if (this.chainEvents.seenWhileAdmitting(v)) void this.chainEvents.recheck(v)
    this.c.events.emit('market.order-accepted', { market: v.message.market, hash: v.hash, side: v.order.side === 0 ? 'ask' : 'bid', maker: v.order.maker, via })
    return true
  }

  /** Takes an order out of its book, with the reason. */
  remove (hash: string, reason: Refusal['reason']): void {
    const key = this.where.get(hash)
    if (key === undefined) return
    const removed = this.bookSet.book(key).cancel(hash)
    this.where.delete(hash)
    if (removed !== undefined) this.removedEvent(removed.entry.payload.message.market, hash, reason)
  }

  /** Reports an order taken out of a book (event and metric). */
  removedEvent (market: string, hash: string, reason: Refusal['reason']): void {
    this.c.metrics?.removed.inc({ reason })
    this.c.events.emit('market.order-removed', { market, hash, reason })
  }

  /** The live order with `hash`, if any book holds it. */
  find (hash: string): ValidOrder | undefined {
    const key = this.where.get(hash)
    return key === undefined ? undefined : this.bookSet.book(key).get(hash)?.payload
  }

  private * snapshot (markets: string[]): Generator<Uint8Array> {
    for (const key of this.bookSet.keys()) {
      if (!markets.includes(key.split('/')[0])) continue
      const book = this.bookSet.book(key)
      for (const side of ['ask', 'bid'] as const) for (const e of book.orders(side)) yield encodeOrderMessage(e.payload.message)
    }
  }

  /** Fetches a peer's books once per connection; each order goes through admission (refusals are events). */
  async syncFrom (peer: PeerId): Promise<void> {
    const id = peer.toString()
    if (this.rt === undefined || this.synced.has(id)) return
    this.synced.add(id)
    try {
      const frames = await requestSnapshot(this.c.libp2p, peer, MARKET_SYNC_PROTOCOL, this.marketNames(), this.init.syncTimeoutMs)
      let added = 0
      for (const f of frames) {
        const a = await this.admit(f, 'sync', id).catch(() => undefined)
        if (a !== undefined && this.insert(a.v, a.filled, 'sync')) added++
      }
      this.c.logger.debug({ peer: id, frames: frames.length, added }, 'market snapshot')
    } catch (err) {
      this.synced.delete(id)
      this.c.logger.debug({ peer: id, err: (err as Error).message }, 'market snapshot failed')
    }
  }

  /**
   * One pass: expire; then share each maker's balance per funding source among its orders (one cached read per maker
   * and source; fills and cancels come from the indexer, not from reading each order) and drop what it cannot back.
   */
  async revalidate (): Promise<FundingPassResult | undefined> {
    const rt = this.rt
    if (rt === undefined || this.revalidating) return undefined
    this.revalidating = true
    try {
      const now = nowSec()
      for (const key of this.bookSet.keys()) {
        for (const r of this.bookSet.book(key).expire(now)) {
          this.where.delete(r.entry.hash)
          this.removedEvent(r.entry.payload.message.market, r.entry.hash, 'expired')
        }
      }
      this.commitments.clearWeighed()
      const pass = this.lastPass = await fundingPass(this.commitments, this.entryOf, rt.funding)
      for (const u of pass.unfunded) {
        this.c.logger.debug({ hash: u.hash, why: u.message }, 'order dropped: unfunded')
        this.remove(u.hash, 'unfunded')
      }
      const counts = new Map<string, number>([...rt.markets.keys()].map(m => [m, 0]))
      for (const key of this.bookSet.keys()) {
        const m = key.split('/')[0]
        counts.set(m, (counts.get(m) ?? 0) + this.bookSet.book(key).size)
      }
      for (const [m, n] of counts) this.c.metrics?.orders.set({ market: m }, n)
      return pass
    } finally {
      this.revalidating = false
    }
  }

  /** Hook for the API layer: a fill seen on chain (for the maker's fill list). */
  onFill?: (e: IndexedEvent, v: ValidOrder | undefined) => void
}
