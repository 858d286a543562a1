/**
 * The market service: the books this node keeps and the orders it makes and takes. Orders arrive by gossip on
 * `meshnode/market/<market>/1`, by a snapshot over `/meshnode/market-sync/1.0.0` from each peer this node meets, or
 * from this node's API; each goes through one admission: schema and rules, chain and contract, peer binding, expiry,
 * signature (cached), the ask's hardware class, and its funding and status on chain (cached reads). A refused order
 * carries its reason (event `market.order-refused`; gossip rejects lower the sender's score). A periodic pass drops
 * expired, filled, cancelled and unfunded orders; the ComputeMarket's fill and cancel events update the books at once.
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
import { MarketError, REFUSALS, gossipErrorOf, type Refusal } from '../errors.js'
import { FundingChecker } from '../funding.js'
import { decodeOrderMessage, encodeOrderMessage, validateOrderMessage, type ValidOrder } from '../protocol/message.js'
import { checkAskHardware } from '../protocol/resource-class.js'
import { COMPUTE_MARKET, MARKET_SYNC_PROTOCOL, marketTopic, tradeMarketName, type MarketName, type MarketSpec } from '../protocol/topic.js'
import { OrderVerifier } from '../protocol/verify.js'
import type { ComputeRunner, VoucherBook } from './compute.js'
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

const nowSec = (): bigint => BigInt(Math.floor(Date.now() / 1000))
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
  private readonly onIdentify = (evt: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void => {
    if (evt.detail.protocols.includes(MARKET_SYNC_PROTOCOL)) void this.syncFrom(evt.detail.peerId)
  }

  constructor (readonly c: MarketComponents, readonly init: MarketInit) {
    this.bookSet = new MarketBooks({ maxOrders: init.maxOrdersPerBook })
  }

  /** The market names served: `compute`, and `ftns-<symbol>` per quote token (plus the test token on `local`). */
  marketNames (): MarketName[] {
    const names: MarketName[] = [COMPUTE_MARKET, ...this.init.quotes.map(q => tradeMarketName(q.symbol))]
    if (this.init.network === 'local') names.push(tradeMarketName(this.init.localQuote.symbol))
    return [...new Set(names)]
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
    const indexer = chainIndexer({ contracts: [{ name: 'ComputeMarket', address: contract, abi: computeMarketAbi }], fromBlock: head, pollMs: 500 })({ provider: chain.provider, store: this.c.store, logger: this.c.logger })
    this.unsubscribe = indexer.subscribe((e, removed) => { if (!removed) void this.onChainEvent(e) })
    try { await indexer.start() } catch (err) { await Promise.resolve(indexer.stop()).catch(() => {}); throw err }
    if (this.stopped) { this.unsubscribe?.(); await indexer.stop(); return }
    this.rt = { chain, markets, verifier: new OrderVerifier(BigInt(chain.chainId), contract), funding, settlement: new Settlement(chain, funding), indexer }
    this.timer = setInterval(() => { void this.revalidate() }, this.init.revalidateMs)
    this.timer.unref()
    this.c.logger.info({ markets: [...markets.keys()] }, 'market ready')
    for (const p of this.c.libp2p.getPeers()) void this.syncFrom(p)
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    clearTimeout(this.retryTimer)
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
      const hw = m.value.peer === this.c.peerId ? this.c.providerFacts?.(this.c.peerId)?.hardware : this.c.providerFacts?.(m.value.peer)?.hardware
      // an ask is checked against its maker node's signed hardware record once this node has seen it
      if (hw !== undefined) {
        const ok = checkAskHardware(v.order.resourceClass, hw)
        if (!ok.ok) throw fail(spec.name, v.hash, ok.refusal)
      }
    }
    const funded = await rt.funding.check(v)
    if (!funded.ok) throw fail(spec.name, v.hash, funded.refusal)
    return { v, filled: funded.value.filled }
  }

  private async validateGossip (data: Uint8Array, from: string): Promise<{ v: ValidOrder, filled: bigint }> {
    if (this.rt === undefined) throw new GossipValidationError('ignore', 'ERR_NOT_READY', 'the market is not ready')
    try {
      return await this.admit(data, 'gossip', from)
    } catch (err) {
      if (!(err instanceof MarketError)) throw new GossipValidationError('ignore', 'ERR_CHAIN_UNAVAILABLE', (err as Error).message)
      if (REFUSALS[err.reason].gossip === 'reject') this.c.penalties.penalise(from)
      throw gossipErrorOf({ reason: err.reason, message: err.message })
    }
  }

  /** Puts an admitted order into its book. */
  insert (v: ValidOrder, filled: bigint, via: Via): boolean {
    if (this.where.has(v.hash)) return false
    const r = this.bookSet.insert(v, nowSec(), filled)
    if (!r.ok) { this.refused(v.message.market, v.hash, r.refusal, via, null); return false }
    this.where.set(v.hash, bookKeyOf(v))
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

  /** One pass: expire, then re-check every order's status and funding (cached reads); drop what fails. */
  async revalidate (): Promise<void> {
    const rt = this.rt
    if (rt === undefined || this.revalidating) return
    this.revalidating = true
    try {
      const now = nowSec()
      for (const key of this.bookSet.keys()) {
        const book = this.bookSet.book(key)
        for (const r of book.expire(now)) {
          this.where.delete(r.entry.hash)
          this.removedEvent(r.entry.payload.message.market, r.entry.hash, 'expired')
        }
        const entries = [...book.orders('ask'), ...book.orders('bid')]
        for (const e of entries) {
          const c = await rt.funding.check(e.payload).catch(() => undefined)
          if (c === undefined || !e.live) continue
          if (!c.ok) this.remove(e.hash, c.refusal.reason)
          else if (c.value.remaining < e.units) book.applyFill(e.hash, e.units - c.value.remaining)
        }
      }
      const counts = new Map<string, number>([...rt.markets.keys()].map(m => [m, 0]))
      for (const key of this.bookSet.keys()) {
        const m = key.split('/')[0]
        counts.set(m, (counts.get(m) ?? 0) + this.bookSet.book(key).size)
      }
      for (const [m, n] of counts) this.c.metrics?.orders.set({ market: m }, n)
    } finally {
      this.revalidating = false
    }
  }

  /** A ComputeMarket event: re-read the order it names (idempotent), or drop a cancelled order or lane. */
  private async onChainEvent (e: IndexedEvent): Promise<void> {
    const rt = this.rt
    if (rt === undefined) return
    const hash = typeof e.args.orderHash === 'string' ? e.args.orderHash : undefined
    if (e.name === 'OrderCancelled' && hash !== undefined) {
      rt.funding.forget({ hash })
      this.remove(hash, 'cancelled')
    } else if (e.name === 'LaneCancelled') {
      const maker = String(e.args.maker).toLowerCase()
      rt.funding.forget({ maker })
      for (const key of this.bookSet.keys()) {
        for (const r of this.bookSet.book(key).cancelLane(maker, BigInt(String(e.args.lane)), BigInt(String(e.args.newNonce)))) {
          this.where.delete(r.entry.hash)
          this.removedEvent(r.entry.payload.message.market, r.entry.hash, 'lane-stale')
        }
      }
    } else if ((e.name === 'ComputeFilled' || e.name === 'TradeFilled') && hash !== undefined) {
      const v = this.find(hash)
      this.c.events.emit('market.filled', { market: v?.message.market ?? 'unknown', hash, units: String(e.args.units), taker: String(e.args.taker), tx: e.txHash })
      this.onFill?.(e, v)
      if (v === undefined) return
      rt.funding.forget({ hash, maker: v.order.maker })
      const c = await rt.funding.check(v).catch(() => undefined)
      const entry = this.bookSet.book(bookKeyOf(v)).get(hash)
      if (c === undefined || entry === undefined) return
      if (!c.ok) this.remove(hash, c.refusal.reason)
      else if (c.value.remaining < entry.units) this.bookSet.book(bookKeyOf(v)).applyFill(hash, entry.units - c.value.remaining)
    }
  }

  /** Hook for the API layer: a fill seen on chain (for the maker's fill list). */
  onFill?: (e: IndexedEvent, v: ValidOrder | undefined) => void
}
