/**
 * Validated orders into books: the book's view of a signed order, and the set of books a node keeps (one per trade
 * market; for `compute`, one per resource class, since only orders for the same hardware can meet).
 */
import { OrderBook, type BookOptions } from './core/book.js'
import type { BookOrder } from './core/types.js'
import type { Checked } from './errors.js'
import type { ValidOrder } from './protocol/message.js'
import { sideName } from './protocol/convert.js'

/** The book's view of a validated order with `filled` units already filled on chain. */
export function bookOrderOf (v: ValidOrder, filled = 0n): BookOrder<ValidOrder> {
  const o = v.order
  const common = {
    hash: v.hash,
    maker: o.maker.toLowerCase(),
    side: sideName(o.side),
    minFill: o.minFill,
    expiry: o.expiry,
    nonceLane: o.nonceLane,
    laneNonce: o.laneNonce,
    payload: v
  }
  return v.kind === 'compute'
    ? { ...common, price: v.order.pricePerUnit, units: v.order.maxUnits - filled, windowStart: v.order.windowStart, windowEnd: v.order.windowEnd }
    : { ...common, price: v.order.price, units: v.order.amount - filled }
}

/** The key of the book a validated order belongs in: the market name, plus the resource class for compute. */
export function bookKeyOf (v: ValidOrder): string {
  return v.kind === 'compute' ? `${v.message.market}/${v.order.resourceClass.toLowerCase()}` : v.message.market
}

/** The books of one node, created on first use. */
export class MarketBooks {
  private readonly books = new Map<string, OrderBook<ValidOrder>>()

  constructor (private readonly opts: BookOptions = {}) {}

  /** The book under `key` (see `bookKeyOf`), created empty when missing. */
  book (key: string): OrderBook<ValidOrder> {
    let b = this.books.get(key)
    if (b === undefined) this.books.set(key, (b = new OrderBook<ValidOrder>(this.opts)))
    return b
  }

  /** Every book's key. */
  keys (): string[] {
    return [...this.books.keys()].sort()
  }

  /** Inserts a validated order into its book. */
  insert (v: ValidOrder, now: bigint, filled = 0n): Checked<unknown> {
    return this.book(bookKeyOf(v)).insert(bookOrderOf(v, filled), now)
  }

  /** Expires every book at `now`; returns how many orders left. */
  expire (now: bigint): number {
    let n = 0
    for (const b of this.books.values()) n += b.expire(now).length
    return n
  }
}
