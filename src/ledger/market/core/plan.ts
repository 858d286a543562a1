/**
 * A taker's plan over one side of a book: walk the orders in priority order and take whole units from each until the
 * wanted units are planned, the limit price is passed, or one transaction's worth of orders is reached. What the
 * contract would refuse is passed over with its reason rather than planned: expired orders, the taker's own orders,
 * compute windows not open or too short, and partial takes below an order's minimum fill.
 */
import type { RefusalReason } from '../errors.js'
import { MAX_SKIPPED, type BookEntry, type FillPlan, type PlannedFill, type SkippedOrder, type TakerSide } from './types.js'

/** When and by whom a plan is made. */
export interface PlanOptions {
  /** Unix seconds (block time as the taker expects it). */
  now: bigint
  /** The taker's address, lower case: its own orders are never planned (the contract refuses self-fills). */
  taker?: string
  /** The most orders in one plan (one `fillMany` under the block gas cap); default 64. */
  maxOrders?: number
  /** Seconds per unit, for compute windows (a fill's units must end by `windowEnd`); default 60. */
  unitSeconds?: bigint
}

/** Default cap on orders per plan. */
export const DEFAULT_MAX_ORDERS = 64

/** See the module comment. `entries` are one side's live orders in priority order. */
export function planFill<T> (
  entries: Iterable<BookEntry<T>>, side: TakerSide, units: bigint, limitPrice: bigint, opts: PlanOptions
): FillPlan<T> {
  const fills: Array<PlannedFill<T>> = []
  const skipped: SkippedOrder[] = []
  const maxOrders = opts.maxOrders ?? DEFAULT_MAX_ORDERS
  const unitSeconds = opts.unitSeconds ?? 60n
  let need = units
  let cost = 0n
  let shortBy: RefusalReason | undefined
  const skip = (hash: string, reason: RefusalReason): void => {
    if (skipped.length < MAX_SKIPPED) skipped.push({ hash, reason })
  }
  for (const e of entries) {
    if (need <= 0n) break
    if (side === 'buy' ? e.price > limitPrice : e.price < limitPrice) {
      shortBy = 'price-limit'
      break
    }
    if (opts.now > e.expiry) { skip(e.hash, 'expired'); continue }
    if (opts.taker !== undefined && e.maker === opts.taker) { skip(e.hash, 'self-fill'); continue }
    let cap = e.units
    if (e.windowStart !== undefined && opts.now < e.windowStart) { skip(e.hash, 'outside-window'); continue }
    if (e.windowEnd !== undefined) {
      const fits = e.windowEnd > opts.now ? (e.windowEnd - opts.now) / unitSeconds : 0n
      if (fits < cap) cap = fits
    }
    const take = need < cap ? need : cap
    if (take <= 0n) { skip(e.hash, 'outside-window'); continue }
    if (take < e.minFill && take !== e.units) { skip(e.hash, 'below-min-fill'); continue }
    if (fills.length >= maxOrders) {
      shortBy = 'too-many-orders'
      break
    }
    fills.push({ hash: e.hash, units: take, price: e.price, cost: take * e.price, payload: e.payload })
    cost += take * e.price
    need -= take
  }
  const planned = units - need
  if (need > 0n && shortBy === undefined) shortBy = 'no-liquidity'
  return { fills, units: planned, cost, unfilled: need, skipped, ...(need > 0n ? { shortBy } : {}) }
}
