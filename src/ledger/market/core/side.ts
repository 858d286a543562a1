/**
 * One side of a book: price levels kept in priority order (asks ascending, bids descending), each level a FIFO of
 * entries in arrival order. Removal is lazy inside a level (an entry is marked dead and skipped, the queue compacted
 * when half dead), so cancel is O(1) plus, when a level empties, the removal of its price from a chunked sorted list.
 */
import { SortedPrices } from './prices.js'
import type { BookEntry, BookSide } from './types.js'

/** A price level: its live entries' total units and count, and its queue (dead entries skipped). */
export interface Level<T> {
  price: bigint
  units: bigint
  count: number
  queue: Array<BookEntry<T>>
  head: number
}

/** The levels of one side. */
export class SideIndex<T> {
  /** Prices in priority order. */
  readonly prices: SortedPrices
  readonly levels = new Map<bigint, Level<T>>()

  /** `chunk`: see SortedPrices (tests make it small). */
  constructor (readonly side: BookSide, chunk?: number) {
    this.prices = new SortedPrices((a, b) => this.before(a, b), chunk)
  }

  /** Whether price `a` comes before price `b` on this side. */
  before (a: bigint, b: bigint): boolean {
    return this.side === 'ask' ? a < b : a > b
  }

  /** Appends a live entry to its price level (creating the level). */
  add (e: BookEntry<T>): void {
    let level = this.levels.get(e.price)
    if (level === undefined) {
      level = { price: e.price, units: 0n, count: 0, queue: [], head: 0 }
      this.levels.set(e.price, level)
      this.prices.insert(e.price)
    }
    level.queue.push(e)
    level.units += e.units
    level.count++
  }

  /** Takes `units` off a live entry's level total (a partial fill). */
  reduce (e: BookEntry<T>, units: bigint): void {
    const level = this.levels.get(e.price)
    if (level !== undefined) level.units -= units
  }

  /** Removes a live entry (already marked dead by the caller). */
  remove (e: BookEntry<T>): void {
    const level = this.levels.get(e.price)
    if (level === undefined) return
    level.units -= e.units
    level.count--
    if (level.count === 0) {
      this.levels.delete(e.price)
      this.prices.delete(e.price)
      return
    }
    while (level.head < level.queue.length && !level.queue[level.head].live) level.head++
    const dead = level.queue.length - level.count
    if (dead > 32 && dead * 2 > level.queue.length) {
      level.queue = level.queue.filter(q => q.live)
      level.head = 0
    }
  }

  /** The best live entry's price. */
  best (): bigint | undefined {
    return this.prices.first()
  }

  /** Live entries in priority order (price, then arrival). */
  * entries (): Generator<BookEntry<T>> {
    for (const price of this.prices) {
      const level = this.levels.get(price)
      if (level === undefined) continue
      for (let i = level.head; i < level.queue.length; i++) {
        const e = level.queue[i]
        if (e.live) yield e
      }
    }
  }
}
