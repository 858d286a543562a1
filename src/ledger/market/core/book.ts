/**
 * The order book of one market (for compute, of one resource class): price-time priority (bids dearest first, asks
 * cheapest first, then arrival), with insert, cancel, cancel-lane, expiry, fills seen on chain, re-validation, best
 * prices, spread, depth, a taker's plan, and matching of an incoming order. Pure: time is passed in (Unix seconds),
 * nothing here does I/O.
 */
import { refuse, type Checked, type RefusalReason } from '../errors.js'
import { MinHeap } from './heap.js'
import { planFill, type PlanOptions } from './plan.js'
import { SideIndex } from './side.js'
import type { BookEntry, BookOrder, BookSide, DepthLevel, FillPlan, TakerSide } from './types.js'

/** Book limits. */
export interface BookOptions {
  /** The most orders the book holds; inserts beyond are refused with `book-full`. */
  maxOrders?: number
  /** Price-list chunk length (see SortedPrices); tests make it small to exercise chunk splits. */
  priceChunk?: number
}

/** An order taken out of the book, and why. */
export interface Removed<T> {
  entry: BookEntry<T>
  reason: RefusalReason
}

/** What matching an incoming order did: the fills it planned and applied, and whether its rest now rests. */
export interface MatchResult<T> {
  plan: FillPlan<T>
  /** The resting rest, when some remained and it could rest. */
  rested?: BookEntry<T>
  /** Why a remaining rest did not rest (`would-cross`, or an insert refusal). */
  restRefused?: RefusalReason
}

/** One market's book (see the module comment). */
export class OrderBook<T = unknown> {
  private readonly asks: SideIndex<T>
  private readonly bids: SideIndex<T>
  private readonly byHash = new Map<string, BookEntry<T>>()
  private readonly byLane = new Map<string, Set<BookEntry<T>>>()
  private readonly expiries = new MinHeap<BookEntry<T>>()
  private seq = 0
  private readonly maxOrders: number

  constructor (opts: BookOptions = {}) {
    this.maxOrders = opts.maxOrders ?? 1_000_000
    this.asks = new SideIndex<T>('ask', opts.priceChunk)
    this.bids = new SideIndex<T>('bid', opts.priceChunk)
  }

  /** Live orders in the book. */
  get size (): number {
    return this.byHash.size
  }

  private sideOf (side: BookSide): SideIndex<T> {
    return side === 'ask' ? this.asks : this.bids
  }

  /**
   * Adds an order at the back of its price level. Refused: `duplicate` (same hash), `filled` (no units), `expired`
   * (`now > expiry`), `book-full`.
   */
  insert (order: BookOrder<T>, now: bigint): Checked<BookEntry<T>> {
    if (this.byHash.has(order.hash)) return refuse('duplicate', `order ${order.hash} is already in the book`)
    if (order.units <= 0n) return refuse('filled', `order ${order.hash} has no units left`)
    if (now > order.expiry) return refuse('expired', `order ${order.hash} expired at ${order.expiry}`)
    if (this.byHash.size >= this.maxOrders) return refuse('book-full', `the book holds ${this.maxOrders} orders`)
    // one fixed shape for every entry (V8 keeps it fast); times past 2^53 s round, which keeps the heap's order
    const entry: BookEntry<T> = {
      hash: order.hash,
      maker: order.maker,
      side: order.side,
      price: order.price,
      units: order.units,
      minFill: order.minFill,
      expiry: order.expiry,
      nonceLane: order.nonceLane,
      laneNonce: order.laneNonce,
      windowStart: order.windowStart,
      windowEnd: order.windowEnd,
      payload: order.payload,
      seq: this.seq++,
      live: true
    }
    this.byHash.set(entry.hash, entry)
    this.sideOf(entry.side).add(entry)
    const lane = laneKey(entry.maker, entry.nonceLane)
    let set = this.byLane.get(lane)
    if (set === undefined) this.byLane.set(lane, (set = new Set()))
    set.add(entry)
    this.expiries.push(Number(entry.expiry), entry)
    return { ok: true, value: entry }
  }

  /** The live order with `hash`. */
  get (hash: string): BookEntry<T> | undefined {
    return this.byHash.get(hash)
  }

  private remove (entry: BookEntry<T>): void {
    if (!entry.live) return
    entry.live = false
    this.byHash.delete(entry.hash)
    this.sideOf(entry.side).remove(entry)
    const lane = laneKey(entry.maker, entry.nonceLane)
    const set = this.byLane.get(lane)
    set?.delete(entry)
    if (set?.size === 0) this.byLane.delete(lane)
    // most of the heap stale: rebuild it so it does not grow without bound under churn
    if (this.expiries.size > 1024 && this.expiries.size > 4 * this.byHash.size) this.expiries.filter(e => e.live)
  }

  /** Removes one order (its maker cancelled it); undefined when it was not in the book. */
  cancel (hash: string): Removed<T> | undefined {
    const entry = this.byHash.get(hash)
    if (entry === undefined) return undefined
    this.remove(entry)
    return { entry, reason: 'cancelled' }
  }

  /** Removes every order of `maker`'s `lane` signed with a lane nonce below `newNonce` (the lane was bumped). */
  cancelLane (maker: string, lane: bigint, newNonce: bigint): Array<Removed<T>> {
    const set = this.byLane.get(laneKey(maker, lane))
    if (set === undefined) return []
    const out: Array<Removed<T>> = []
    for (const entry of [...set]) {
      if (entry.laneNonce < newNonce) {
        this.remove(entry)
        out.push({ entry, reason: 'lane-stale' })
      }
    }
    return out
  }

  /** Removes every order expired at `now` (`now > expiry`), soonest first. */
  expire (now: bigint): Array<Removed<T>> {
    const out: Array<Removed<T>> = []
    for (let top = this.expiries.peek(); top !== undefined && (top.expiry < now || !top.live); top = this.expiries.peek()) {
      this.expiries.pop()
      if (top.live) {
        this.remove(top)
        out.push({ entry: top, reason: 'expired' })
      }
    }
    return out
  }

  /**
   * Records `units` filled on chain against `hash`. Refused: `not-found`, `overfill` (more than the book thinks
   * remains: the caller re-reads the order's status instead). An order with nothing left is removed (`filled`).
   */
  applyFill (hash: string, units: bigint): Checked<bigint> {
    const entry = this.byHash.get(hash)
    if (entry === undefined) return refuse('not-found', `order ${hash} is not in the book`)
    if (units <= 0n) return refuse('malformed', 'a fill is at least one unit')
    if (units > entry.units) return refuse('overfill', `fill of ${units} exceeds the ${entry.units} units left of ${hash}`)
    if (units === entry.units) {
      this.remove(entry)
      entry.units = 0n
      return { ok: true, value: 0n }
    }
    this.sideOf(entry.side).reduce(entry, units)
    entry.units -= units
    return { ok: true, value: entry.units }
  }

  /** Removes every order for which `check` names a reason (unfunded, filled on chain, ...); the rest stay as they are. */
  revalidate (check: (entry: BookEntry<T>) => RefusalReason | undefined): Array<Removed<T>> {
    const doomed: Array<Removed<T>> = []
    for (const entry of this.byHash.values()) {
      const reason = check(entry)
      if (reason !== undefined) doomed.push({ entry, reason })
    }
    for (const d of doomed) this.remove(d.entry)
    return doomed
  }

  /** The highest bid price. */
  bestBid (): bigint | undefined {
    return this.bids.best()
  }

  /** The lowest ask price. */
  bestAsk (): bigint | undefined {
    return this.asks.best()
  }

  /** bestAsk - bestBid, when both exist (negative when the book is crossed). */
  spread (): bigint | undefined {
    const bid = this.bids.best()
    const ask = this.asks.best()
    return bid === undefined || ask === undefined ? undefined : ask - bid
  }

  /** Live orders of `side` in priority order. */
  orders (side: BookSide): Generator<BookEntry<T>> {
    return this.sideOf(side).entries()
  }

  /** The best `maxLevels` price levels of `side`: units and orders at each price, and the running total. */
  depth (side: BookSide, maxLevels = 20): DepthLevel[] {
    const s = this.sideOf(side)
    const out: DepthLevel[] = []
    let cumulative = 0n
    for (const price of s.prices) {
      if (out.length >= maxLevels) break
      const level = s.levels.get(price)
      if (level === undefined) continue
      cumulative += level.units
      out.push({ price, units: level.units, orders: level.count, cumulative })
    }
    return out
  }

  /**
   * A taker's plan: the best orders of the other side within `limitPrice`, in integer units, respecting each order's
   * minimum fill, expiry, window and the taker's own orders (see `planFill`). The book is not changed.
   */
  planFill (side: TakerSide, units: bigint, limitPrice: bigint, opts: PlanOptions): FillPlan<T> {
    return planFill(side === 'buy' ? this.asks.entries() : this.bids.entries(), side, units, limitPrice, opts)
  }

  /**
   * Matches an incoming order: drops expired orders, takes what crosses it (as `planFill` with its price as the
   * limit and its maker as the taker) and applies those fills, then rests the rest unless it would still cross
   * (orders it may not take: its maker's own, or minimum fills larger than its rest). After any sequence of matches
   * the book is not crossed. The shell signs the resting order for the rest's size.
   */
  match (order: BookOrder<T>, now: bigint, opts: Omit<PlanOptions, 'now' | 'taker'> = {}): MatchResult<T> {
    this.expire(now)
    const plan = this.planFill(order.side === 'bid' ? 'buy' : 'sell', order.units, order.price, { ...opts, now, taker: order.maker })
    for (const f of plan.fills) this.applyFill(f.hash, f.units)
    const rest = order.units - plan.units
    if (rest === 0n) return { plan }
    const opposite = order.side === 'bid' ? this.asks.best() : this.bids.best()
    if (opposite !== undefined && (order.side === 'bid' ? opposite <= order.price : opposite >= order.price)) {
      return { plan, restRefused: 'would-cross' }
    }
    const rested = this.insert({ ...order, units: rest }, now)
    return rested.ok ? { plan, rested: rested.value } : { plan, restRefused: rested.refusal.reason }
  }
}

function laneKey (maker: string, lane: bigint): string {
  return `${maker}:${lane}`
}
