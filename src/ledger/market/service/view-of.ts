/** Builds the API views of books and orders (pure: the provider facts are passed in). */
import { pricePerMillionSamples } from '../core/normalise.js'
import type { OrderBook } from '../core/book.js'
import type { BookEntry, DepthLevel } from '../core/types.js'
import type { ValidOrder } from '../protocol/message.js'
import type { BookView, DepthLevelView, OrderView } from './views.js'

/** What the node knows of a provider: its measured training speed and its consensus reputation. */
export interface ProviderFacts {
  samplesPerSec?: number
  reputation?: string
  /** Its signed hardware record's facts, for the ask's hardware check. */
  hardware?: { cpu: { cores: number }, memory: { totalMB: number }, gpus: ReadonlyArray<{ name: string, memoryMB: number }>, board: { kind: 'generic' | 'jetson' | 'raspberry-pi' } }
}

/** The view of a book entry. */
export function orderViewOf (e: BookEntry<ValidOrder>, facts?: (peerId: string) => ProviderFacts | undefined): OrderView {
  const v = e.payload
  const m = v.message
  const compute = v.kind === 'compute' ? v.order : undefined
  const size = v.kind === 'compute' ? v.order.maxUnits : v.order.amount
  let provider: OrderView['provider'] = null
  let perMillion: string | null = null
  if (compute !== undefined && e.side === 'ask') {
    const f = facts?.(m.peer)
    provider = { samplesPerSec: f?.samplesPerSec ?? null, reputation: f?.reputation ?? null }
    const n = f?.samplesPerSec !== undefined && f.samplesPerSec > 0 ? pricePerMillionSamples(e.price, f.samplesPerSec) : undefined
    perMillion = n !== undefined ? n.toString() : null
  }
  return {
    hash: e.hash,
    market: m.market,
    kind: v.kind,
    side: e.side,
    maker: v.order.maker,
    peer: m.peer,
    price: e.price.toString(),
    units: e.units.toString(),
    size: size.toString(),
    minFill: e.minFill.toString(),
    expiry: Number(e.expiry),
    resourceClass: compute !== undefined ? compute.resourceClass : null,
    windowStart: compute !== undefined ? Number(compute.windowStart) : null,
    windowEnd: compute !== undefined ? Number(compute.windowEnd) : null,
    pricePerMillionSamples: perMillion,
    provider,
    message: m
  }
}

function depthView (d: DepthLevel): DepthLevelView {
  return { price: d.price.toString(), units: d.units.toString(), orders: d.orders, cumulative: d.cumulative.toString() }
}

function mergeDepth (levels: DepthLevel[], desc: boolean): DepthLevelView[] {
  const by = new Map<bigint, { units: bigint, orders: number }>()
  for (const l of levels) {
    const x = by.get(l.price) ?? { units: 0n, orders: 0 }
    by.set(l.price, { units: x.units + l.units, orders: x.orders + l.orders })
  }
  let cumulative = 0n
  return [...by.entries()].sort(([a], [b]) => (a === b ? 0 : (a < b) !== desc ? -1 : 1)).map(([price, x]) => {
    cumulative += x.units
    return depthView({ price, units: x.units, orders: x.orders, cumulative })
  })
}

/** The view of one market's books (one for a trade market; one per resource class for compute, merged). */
export function bookViewOf (
  market: string, resourceClass: string | null, books: Array<OrderBook<ValidOrder>>, facts?: (peerId: string) => ProviderFacts | undefined, limit = 200
): BookView {
  const pick = (side: 'bid' | 'ask'): Array<BookEntry<ValidOrder>> => {
    const all = books.flatMap(b => [...b.orders(side)])
    // price-time priority across classes: price first, then arrival within each book
    return all.sort((a, b) => a.price === b.price ? a.seq - b.seq : ((a.price < b.price) === (side === 'ask') ? -1 : 1)).slice(0, limit)
  }
  const bids = pick('bid')
  const asks = pick('ask')
  const bestBid = bids[0]?.price
  const bestAsk = asks[0]?.price
  return {
    market,
    resourceClass,
    bids: bids.map(e => orderViewOf(e, facts)),
    asks: asks.map(e => orderViewOf(e, facts)),
    bestBid: bestBid?.toString() ?? null,
    bestAsk: bestAsk?.toString() ?? null,
    spread: bestBid !== undefined && bestAsk !== undefined ? (bestAsk - bestBid).toString() : null,
    depth: { bids: mergeDepth(books.flatMap(b => b.depth('bid', 50)), true), asks: mergeDepth(books.flatMap(b => b.depth('ask', 50)), false) }
  }
}
