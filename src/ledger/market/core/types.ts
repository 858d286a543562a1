/**
 * The book's view of an order: only what ordering, matching and expiry need (prices and units as bigints, times in
 * Unix seconds), plus an opaque payload (the signed message) the book carries along untouched.
 */
import type { RefusalReason } from '../errors.js'

/** The side an order rests on: `ask` sells, `bid` buys. */
export type BookSide = 'ask' | 'bid'

/** What a taker does: `buy` takes asks (cheapest first), `sell` takes bids (dearest first). */
export type TakerSide = 'buy' | 'sell'

/** An order as the book takes it. */
export interface BookOrder<T = unknown> {
  /** The EIP-712 order hash (the contract tracks fills by it). */
  hash: string
  /** The maker's address, lower case (the book compares it as a string). */
  maker: string
  side: BookSide
  /** Per unit: FTNS wei per minute (compute) or quote wei per lot (trade). */
  price: bigint
  /** Units not yet filled. */
  units: bigint
  /** The smallest fill; a smaller rest can still be taken whole. */
  minFill: bigint
  /** Unix seconds; fillable while `now <= expiry`, as the contract checks. */
  expiry: bigint
  nonceLane: bigint
  laneNonce: bigint
  /** Compute orders: a fill may start at `windowStart` and its units must end by `windowEnd`. */
  windowStart?: bigint
  windowEnd?: bigint
  payload: T
}

/** An order in the book: its arrival number (time priority) and what remains of it. */
export interface BookEntry<T = unknown> extends BookOrder<T> {
  /** Arrival order in this book: earlier wins among equal prices. */
  readonly seq: number
  /** False once removed (cancelled, filled, expired, dropped). */
  live: boolean
}

/** One order of a taker's plan: what one element of a `fillMany` transaction carries. */
export interface PlannedFill<T = unknown> {
  hash: string
  units: bigint
  price: bigint
  /** units * price. */
  cost: bigint
  payload: T
}

/** An order the plan passed over, and why. */
export interface SkippedOrder {
  hash: string
  reason: RefusalReason
}

/** A taker's plan: the fills in priority order, their totals, and why it falls short when it does. */
export interface FillPlan<T = unknown> {
  fills: Array<PlannedFill<T>>
  units: bigint
  cost: bigint
  /** Units asked for and not planned. */
  unfilled: bigint
  /** Orders passed over on the way (at most `MAX_SKIPPED` listed). */
  skipped: SkippedOrder[]
  /** Why `unfilled > 0`: `price-limit`, `no-liquidity` or `too-many-orders`. */
  shortBy?: RefusalReason
}

/** One price level of a depth table. */
export interface DepthLevel {
  price: bigint
  units: bigint
  orders: number
  /** Units at this price and better. */
  cumulative: bigint
}

/** The most skipped orders a plan lists (the rest are only counted out by the plan's shortfall). */
export const MAX_SKIPPED = 64
