/**
 * The market service as the node runs it: `market(init)(components)` with start()/stop(), and what the routes call
 * (books, orders, fills, cancels). A maker's order is signed with the node's wallet, admitted like any gossiped
 * order (so this node refuses to publish what its peers would refuse), put in the local book and published. A taker's
 * fill is planned against the book and settled on chain (settle.ts); every refusal is a MarketError with its reason
 * (the API's `error.code`, e.g. ERR_OVERFILL) and an event.
 */
import { randomBytes } from 'node:crypto'
import type { IndexedEvent } from '../../chain/index.js'
import { MarketError } from '../errors.js'
import { bookKeyOf } from '../books.js'
import type { PlannedFill } from '../core/types.js'
import type { OrderBook } from '../core/book.js'
import { encodeOrderMessage, signComputeMessage, signTradeMessage, type ValidOrder } from '../protocol/message.js'
import { requirementOf, resourceClassOf } from '../protocol/resource-class.js'
import { isMarketName, marketTopic, type MarketName } from '../protocol/topic.js'
import { MarketCore, type MarketComponents, type MarketInit } from './service.js'
import { ComputeJobs } from './compute.js'
import { MAX_FILLS_KEPT, MarketStore } from './job-store.js'
import { bookViewOf, orderViewOf } from './view-of.js'
import type { BookView, BooksView, CancelResult, FillRequest, FillView, FillsView, OrdersView, PostOrderRequest, PostOrderResult } from './views.js'

const nowSec = (): number => Math.floor(Date.now() / 1000)

/** The market's API (what the routes use). */
export interface MarketApi {
  books: () => BooksView
  book: (market: string, resourceClass?: string) => BookView
  postOrder: (req: PostOrderRequest) => Promise<PostOrderResult>
  cancel: (hash: string) => Promise<CancelResult>
  cancelLane: (lane: number) => Promise<CancelResult>
  orders: (owner?: string) => OrdersView
  fill: (req: FillRequest) => Promise<FillView>
  fills: () => FillsView
}

/** Where the maker's next binding nonce is kept in the market's store (beside the indexer's keys). */
const BINDING_KEY = 'binding-nonce:'

/** The market service. */
export class Market extends MarketCore implements MarketApi {
  private readonly fillLog: FillView[] = []
  private readonly mine = new Map<string, ValidOrder>()

  readonly compute: ComputeJobs
  /** The fill history and the compute jobs, persisted (a restart keeps both). */
  private readonly records: MarketStore

  constructor (c: MarketComponents, init: MarketInit) {
    super(c, init)
    this.onFill = (e, v) => { this.makerFill(e, v) }
    this.records = new MarketStore(c.store)
    this.compute = new ComputeJobs({ libp2p: c.libp2p, chain: () => this.rt?.chain, store: this.records, vouchers: c.vouchers, runner: c.computeRunner, events: c.events, logger: c.logger }, init.computeUnitMs)
  }

  override async start (): Promise<void> {
    // the history first: it sets where new fills are written
    if (this.init.enabled) this.fillLog.push(...(await this.records.fills()).slice(-MAX_FILLS_KEPT))
    await super.start()
    if (this.init.enabled) await this.compute.start()
  }

  override async stop (): Promise<void> {
    await this.compute.stop()
    await super.stop()
  }

  private bindings = Promise.resolve(0n)

  /**
   * The next binding nonce of this maker, persisted before the order is signed. Nonces count up from 0 because
   * ComputeMarket keeps fill records per (maker, salt) four to a storage slot (bindingSalt puts four consecutive nonces
   * in one slot): three fills in four then write a slot already in use, ~17k gas less. A nonce is never reused (a
   * reused salt would share its fill record with the older order).
   */
  private async nextBinding (maker: string): Promise<bigint> {
    const key = `${BINDING_KEY}${maker.toLowerCase()}`
    const next = this.bindings.then(async () => {
      const n = BigInt(String(await this.c.store.get(key) ?? '0'))
      await this.c.store.batch([{ type: 'put', key, value: (n + 1n).toString() }])
      return n
    })
    this.bindings = next.catch(() => 0n)
    return await next
  }

  private spec (market: string): { name: string, kind: 'compute' | 'trade', symbol: string | null, decimals: number } {
    const rt = this.ready()
    const s = isMarketName(market) ? rt.markets.get(market) : undefined
    if (s === undefined) throw new MarketError('unknown-market', `this node serves no market ${market}; it serves ${[...rt.markets.keys()].join(', ')}`)
    return s
  }

  private booksOf (market: string, resourceClass?: string): Array<OrderBook<ValidOrder>> {
    return this.bookSet.keys().filter(k => k === market || (k.startsWith(`${market}/`) && (resourceClass === undefined || k === `${market}/${resourceClass.toLowerCase()}`))).map(k => this.bookSet.book(k))
  }

  books (): BooksView {
    const rt = this.ready()
    return {
      markets: [...rt.markets.values()].map(s => {
        const b = bookViewOf(s.name, null, this.booksOf(s.name), undefined, 1)
        return {
          market: s.name,
          kind: s.kind,
          quote: s.kind === 'trade' ? s.quote : null,
          symbol: s.symbol,
          priceDecimals: s.decimals,
          unitSize: s.kind === 'trade' ? s.unitSize.toString() : null,
          orders: this.booksOf(s.name).reduce((n, x) => n + x.size, 0),
          bestBid: b.bestBid,
          bestAsk: b.bestAsk,
          spread: b.spread
        }
      })
    }
  }

  book (market: string, resourceClass?: string): BookView {
    const s = this.spec(market)
    return bookViewOf(s.name, resourceClass?.toLowerCase() ?? null, this.booksOf(s.name, resourceClass), this.c.providerFacts)
  }

  async postOrder (req: PostOrderRequest): Promise<PostOrderResult> {
    const s = this.spec(req.market)
    const rt = this.ready()
    const now = nowSec()
    const lane = BigInt(req.nonceLane ?? 0)
    const expiry = req.expiry ?? now + (req.ttlSec ?? 3600)
    const units = BigInt(req.units)
    const minFill = req.minFill !== undefined ? BigInt(req.minFill) : 1n
    if (minFill > units) throw new MarketError('malformed', `minFill ${minFill} exceeds units ${units}`)
    const ctx = { market: s.name as MarketName, chainId: BigInt(rt.chain.chainId), contract: rt.chain.contracts.ComputeMarket, peer: this.c.peerId }
    const common = { side: req.side, nonceLane: lane.toString(), laneNonce: (await rt.settlement.laneNonce(lane)).toString(), expiry: String(expiry), minFill: minFill.toString() }
    const binding = await this.nextBinding(rt.chain.wallet.address)
    let message
    if (s.kind === 'compute') {
      let resourceClass = req.resourceClass
      if (resourceClass === undefined) {
        const hw = this.c.providerFacts?.(this.c.peerId)?.hardware
        if (req.side === 'bid' || hw === undefined) throw new MarketError('malformed', req.side === 'bid' ? 'a compute bid needs resourceClass (the hardware it asks for)' : "this node's hardware record is not known yet: pass resourceClass")
        resourceClass = resourceClassOf(requirementOf(hw))
      }
      message = await signComputeMessage(rt.chain.wallet, ctx, {
        ...common, resourceClass, pricePerUnit: req.price, maxUnits: units.toString(), windowStart: String(req.windowStart ?? now - 60), windowEnd: String(req.windowEnd ?? expiry + 86_400)
      }, binding)
    } else {
      const t = rt.markets.get(s.name)
      if (t === undefined || t.kind !== 'trade') throw new MarketError('unknown-market')
      message = await signTradeMessage(rt.chain.wallet, ctx, { ...common, quote: t.quote, unitSize: t.unitSize.toString(), price: req.price, amount: units.toString() }, binding)
    }
    // the maker's side must be spendable by the market (approved once); its balance is the funding check's
    const total = BigInt(req.price) * units
    if (s.kind === 'compute') { if (req.side === 'bid') await rt.settlement.ensureFunds('vault', total, false) } else if (message.kind === 'trade') {
      await rt.settlement.ensureFunds(req.side === 'ask' ? rt.chain.contracts.FTNSToken : message.order.quote, req.side === 'ask' ? BigInt(message.order.unitSize) * units : total, false)
      rt.funding.forget({ maker: rt.chain.wallet.address })
    }
    const { v, filled } = await this.admit({ ok: true, value: message }, 'api', null)
    this.insert(v, filled, 'api')
    this.mine.set(v.hash, v)
    await this.c.gossip.publish(marketTopic(s.name as MarketName), encodeOrderMessage(message)).catch((err: Error) => {
      this.c.logger.debug({ err: err.message }, 'order published to no peers yet (sync will carry it)')
    })
    const entry = this.bookSet.book(bookKeyOf(v)).get(v.hash)
    if (entry === undefined) throw new MarketError('filled', `order ${v.hash} did not rest in the book`)
    return { hash: v.hash, message, order: orderViewOf(entry, this.c.providerFacts) }
  }

  async cancel (hash: string): Promise<CancelResult> {
    const rt = this.ready()
    const v = this.find(hash) ?? this.mine.get(hash.toLowerCase()) ?? this.mine.get(hash)
    if (v === undefined) throw new MarketError('not-found', `no order ${hash} in this node's books`)
    const tx = await rt.settlement.cancel(v)
    rt.funding.forget({ hash: v.hash })
    this.remove(v.hash, 'cancelled')
    return { hash: v.hash, lane: null, tx, removed: 1 }
  }

  async cancelLane (lane: number): Promise<CancelResult> {
    const rt = this.ready()
    const { tx, newNonce } = await rt.settlement.cancelLane(BigInt(lane))
    const maker = rt.settlement.address.toLowerCase()
    rt.funding.forget({ maker })
    let removed = 0
    for (const key of this.bookSet.keys()) {
      for (const r of this.bookSet.book(key).cancelLane(maker, BigInt(lane), newNonce)) {
        removed++
        this.where.delete(r.entry.hash)
        this.removedEvent(r.entry.payload.message.market, r.entry.hash, 'lane-stale')
      }
    }
    return { hash: null, lane, tx, removed }
  }

  orders (owner = 'me'): OrdersView {
    const rt = this.ready()
    const who = (owner === 'me' ? rt.chain.wallet.address : owner).toLowerCase()
    const out = []
    for (const key of this.bookSet.keys()) {
      const b = this.bookSet.book(key)
      for (const side of ['ask', 'bid'] as const) for (const e of b.orders(side)) if (e.maker === who) out.push(orderViewOf(e, this.c.providerFacts))
    }
    return { owner: who, orders: out }
  }

  /** Plans the fill (one order, or the best of a book), then settles it in one transaction. */
  async fill (req: FillRequest): Promise<FillView> {
    const rt = this.ready()
    const taker = rt.chain.wallet.address.toLowerCase()
    const units = BigInt(req.units)
    let planned: Array<PlannedFill<ValidOrder>>
    let market: string
    if (req.orderHash !== undefined) {
      const v = this.find(req.orderHash)
      if (v === undefined) throw new MarketError('not-found', `no order ${req.orderHash} in this node's books`)
      const e = this.bookSet.book(bookKeyOf(v)).get(v.hash)
      if (e === undefined) throw new MarketError('not-found')
      if (e.maker === taker) throw new MarketError('self-fill', 'this node made that order')
      if (BigInt(nowSec()) > e.expiry) throw new MarketError('expired', `order ${v.hash} expired at ${e.expiry}`)
      if (units > e.units) throw new MarketError('overfill', `order ${v.hash} has ${e.units} units left; asked for ${units}`)
      if (units < e.minFill && units !== e.units) throw new MarketError('below-min-fill', `order ${v.hash} takes at least ${e.minFill} units (or its whole rest of ${e.units})`)
      planned = [{ hash: v.hash, units, price: e.price, cost: units * e.price, payload: v }]
      market = v.message.market
    } else {
      if (req.market === undefined || req.side === undefined) throw new MarketError('malformed', 'give orderHash, or market and side')
      const s = this.spec(req.market)
      market = s.name
      const books = this.booksOf(s.name, req.resourceClass)
      if (s.kind === 'compute' && books.length > 1) throw new MarketError('malformed', 'the compute market has several resource classes: pass resourceClass')
      const limit = req.limitPrice !== undefined ? BigInt(req.limitPrice) : (req.side === 'buy' ? (1n << 255n) : 1n)
      const plan = books[0]?.planFill(req.side, units, limit, { now: BigInt(nowSec()), taker })
      if (plan === undefined || plan.fills.length === 0 || plan.unfilled > 0n) {
        throw new MarketError(plan?.shortBy ?? 'no-liquidity', `only ${plan?.units ?? 0n} of ${units} units can be filled (${plan?.shortBy ?? 'no-liquidity'})`)
      }
      planned = plan.fills
    }
    const view: FillView = {
      id: `fill-${randomBytes(6).toString('hex')}`,
      role: 'taker',
      market,
      state: 'pending',
      tx: null,
      orders: planned.map(p => ({ hash: p.hash, units: p.units.toString(), price: p.price.toString(), cost: p.cost.toString() })),
      units: planned.reduce((n, p) => n + p.units, 0n).toString(),
      cost: planned.reduce((n, p) => n + p.cost, 0n).toString(),
      reason: null,
      message: null,
      at: new Date().toISOString()
    }
    await this.log(view)
    try {
      view.tx = await rt.settlement.fill(planned.map(p => ({ v: p.payload, units: p.units })))
      view.state = 'done'
      for (const p of planned) rt.funding.forget({ hash: p.hash, maker: p.payload.order.maker })
      this.c.metrics?.fills.inc({ result: 'done' })
      this.c.events.emit('market.fill', { id: view.id, state: 'done', tx: view.tx, reason: null, message: null })
      // a compute fill with a job: the providers start it, this node pays it by the unit
      const asks = new Map(planned.filter(p => p.payload.kind === 'compute' && p.payload.order.side === 0).map(p => [p.hash, { peer: p.payload.message.peer, price: p.price }]))
      // the fill's record goes in one batch with its jobs' first records
      if (req.job !== undefined && asks.size > 0) {
        await this.compute.buy(view.tx, req.job, asks, this.records.fillOps(view)).catch(async (err: Error) => {
          this.c.logger.warn({ tx: view.tx, err: err.message }, 'compute job not started')
          await this.persist(view)
        })
      } else await this.persist(view)
      const jobs = this.compute.viewsOf(view.tx)
      return jobs.length > 0 ? { ...view, compute: jobs } : view
    } catch (err) {
      view.state = 'failed'
      if (err instanceof MarketError) {
        view.reason = err.reason
        view.message = err.message
      }
      this.c.metrics?.fills.inc({ result: view.reason ?? 'error' })
      this.c.events.emit('market.fill', { id: view.id, state: 'failed', tx: null, reason: view.reason, message: view.message ?? (err as Error).message })
      await this.persist(view)
      throw err
    }
  }

  fills (): FillsView {
    this.ready()
    return { fills: [...this.fillLog].reverse().map(f => { const jobs = this.compute.viewsOf(f.tx); return jobs.length > 0 ? { ...f, compute: jobs } : f }) }
  }

  private async log (view: FillView): Promise<void> {
    // a chain event seen again (the indexer resumes at its cursor) keeps its one entry
    if (this.fillLog.some(f => f.id === view.id)) return
    this.fillLog.push(view)
    if (this.fillLog.length > MAX_FILLS_KEPT) this.fillLog.shift()
    await this.persist(view)
  }

  /** Writes a fill's current state (a failed write is logged: the fill itself is on chain or an intent). */
  private async persist (view: FillView): Promise<void> {
    await this.records.write(this.records.fillOps(view)).catch((err: Error) => { this.c.logger.warn({ id: view.id, err: err.message }, 'fill record not written') })
  }

  /** A fill of one of this node's own orders, seen on chain. */
  private makerFill (e: IndexedEvent, v: ValidOrder | undefined): void {
    const rt = this.rt
    const hash = String(e.args.orderHash)
    const own = v ?? this.mine.get(hash)
    if (rt === undefined || own === undefined || own.order.maker.toLowerCase() !== rt.chain.wallet.address.toLowerCase()) return
    const units = BigInt(String(e.args.units))
    const price = own.kind === 'compute' ? own.order.pricePerUnit : own.order.price
    void this.log({
      id: `${e.txHash}:${e.logIndex}`,
      role: 'maker',
      market: own.message.market,
      state: 'done',
      tx: e.txHash,
      orders: [{ hash, units: units.toString(), price: price.toString(), cost: (units * price).toString() }],
      units: units.toString(),
      cost: (units * price).toString(),
      reason: null,
      message: null,
      at: new Date().toISOString()
    })
  }
}

/** The market service factory: `market(init)(components)`. */
export function market (init: MarketInit): (components: MarketComponents) => Market {
  return (components) => new Market(components, init)
}
