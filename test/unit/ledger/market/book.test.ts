import { describe, expect, it } from 'vitest'
import { OrderBook } from '../../../../src/ledger/market/index.js'
import type { BookOrder, BookSide } from '../../../../src/ledger/market/index.js'

const NOW = 1_000_000n
let n = 0
function order (side: BookSide, price: bigint, units: bigint, over: Partial<BookOrder<string>> = {}): BookOrder<string> {
  const hash = over.hash ?? `0x${(++n).toString(16).padStart(4, '0')}`
  return { hash, maker: 'm1', side, price, units, minFill: 1n, expiry: NOW + 100n, nonceLane: 0n, laneNonce: 0n, payload: hash, ...over }
}

function book (...orders: Array<BookOrder<string>>): OrderBook<string> {
  const b = new OrderBook<string>()
  for (const o of orders) {
    const r = b.insert(o, NOW)
    if (!r.ok) throw new Error(r.refusal.message)
  }
  return b
}

const hashes = (it: Iterable<{ hash: string }>): string[] => [...it].map(e => e.hash)

describe('OrderBook priority and queries', () => {
  it('orders asks cheapest first and bids dearest first, then by arrival', () => {
    const b = book(
      order('ask', 12n, 1n, { hash: 'a12' }), order('ask', 10n, 1n, { hash: 'a10' }), order('ask', 10n, 1n, { hash: 'a10b' }),
      order('bid', 8n, 1n, { hash: 'b8' }), order('bid', 9n, 1n, { hash: 'b9' }), order('bid', 8n, 1n, { hash: 'b8b' })
    )
    expect(hashes(b.orders('ask'))).toEqual(['a10', 'a10b', 'a12'])
    expect(hashes(b.orders('bid'))).toEqual(['b9', 'b8', 'b8b'])
    expect(b.bestAsk()).toBe(10n)
    expect(b.bestBid()).toBe(9n)
    expect(b.spread()).toBe(1n)
    expect(b.size).toBe(6)
  })

  it('aggregates depth by price with running totals', () => {
    const b = book(order('ask', 10n, 3n), order('ask', 10n, 2n), order('ask', 11n, 4n), order('ask', 15n, 1n))
    expect(b.depth('ask')).toEqual([
      { price: 10n, units: 5n, orders: 2, cumulative: 5n },
      { price: 11n, units: 4n, orders: 1, cumulative: 9n },
      { price: 15n, units: 1n, orders: 1, cumulative: 10n }
    ])
    expect(b.depth('ask', 1)).toHaveLength(1)
    expect(b.depth('bid')).toEqual([])
    expect(b.spread()).toBeUndefined()
  })

  const refused: Array<[string, BookOrder<string>, string]> = [
    ['an expired order', order('ask', 1n, 1n, { expiry: NOW - 1n }), 'expired'],
    ['an order with no units', order('ask', 1n, 0n), 'filled'],
    ['a duplicate', order('ask', 1n, 1n, { hash: 'dup' }), 'duplicate']
  ]
  it.each(refused)('refuses %s', (_name, o, reason) => {
    const b = book(order('ask', 5n, 1n, { hash: 'dup' }))
    const r = b.insert(o, NOW)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.refusal.reason).toBe(reason)
  })

  it('refuses inserts past its size limit', () => {
    const b = new OrderBook<string>({ maxOrders: 2 })
    expect(b.insert(order('ask', 1n, 1n), NOW).ok).toBe(true)
    expect(b.insert(order('ask', 1n, 1n), NOW).ok).toBe(true)
    const r = b.insert(order('ask', 1n, 1n), NOW)
    expect(!r.ok && r.refusal.reason).toBe('book-full')
  })
})

describe('OrderBook removal', () => {
  it('cancels one order and keeps the level for the others', () => {
    const b = book(order('ask', 10n, 3n, { hash: 'x' }), order('ask', 10n, 2n, { hash: 'y' }))
    expect(b.cancel('x')?.reason).toBe('cancelled')
    expect(b.cancel('x')).toBeUndefined()
    expect(b.depth('ask')).toEqual([{ price: 10n, units: 2n, orders: 1, cumulative: 2n }])
    expect(b.cancel('y')?.entry.hash).toBe('y')
    expect(b.bestAsk()).toBeUndefined()
    expect(b.size).toBe(0)
  })

  it('cancels a lane: only that maker, that lane, older nonces', () => {
    const b = book(
      order('ask', 10n, 1n, { hash: 'l0n0', nonceLane: 0n, laneNonce: 0n }),
      order('ask', 10n, 1n, { hash: 'l0n1', nonceLane: 0n, laneNonce: 1n }),
      order('ask', 10n, 1n, { hash: 'l1n0', nonceLane: 1n, laneNonce: 0n }),
      order('bid', 5n, 1n, { hash: 'other', maker: 'm2', nonceLane: 0n, laneNonce: 0n })
    )
    const removed = b.cancelLane('m1', 0n, 1n)
    expect(removed.map(r => [r.entry.hash, r.reason])).toEqual([['l0n0', 'lane-stale']])
    expect(hashes(b.orders('ask'))).toEqual(['l0n1', 'l1n0'])
    expect(b.cancelLane('m1', 0n, 5n).map(r => r.entry.hash)).toEqual(['l0n1'])
    expect(b.cancelLane('nobody', 0n, 5n)).toEqual([])
    expect(b.size).toBe(2)
  })

  it('expires orders once now passes their expiry, not at it', () => {
    const b = book(order('ask', 10n, 1n, { hash: 'e1', expiry: NOW + 1n }), order('ask', 11n, 1n, { hash: 'e5', expiry: NOW + 5n }), order('bid', 1n, 1n, { hash: 'e3', expiry: NOW + 3n }))
    expect(b.expire(NOW + 1n)).toEqual([])
    expect(b.expire(NOW + 4n).map(r => [r.entry.hash, r.reason])).toEqual([['e1', 'expired'], ['e3', 'expired']])
    expect(hashes(b.orders('ask'))).toEqual(['e5'])
    b.cancel('e5')
    expect(b.expire(NOW + 100n)).toEqual([])
  })

  it('applies fills seen on chain, removing filled orders and refusing overfills', () => {
    const b = book(order('ask', 10n, 5n, { hash: 'f' }), order('ask', 10n, 1n, { hash: 'g' }))
    const r1 = b.applyFill('f', 2n)
    expect(r1.ok && r1.value).toBe(3n)
    expect(b.depth('ask')[0].units).toBe(4n)
    const over = b.applyFill('f', 4n)
    expect(!over.ok && over.refusal.reason).toBe('overfill')
    expect(b.get('f')?.units).toBe(3n)
    expect(b.applyFill('f', 3n).ok).toBe(true)
    expect(b.get('f')).toBeUndefined()
    const missing = b.applyFill('f', 1n)
    expect(!missing.ok && missing.refusal.reason).toBe('not-found')
    expect(b.depth('ask')).toEqual([{ price: 10n, units: 1n, orders: 1, cumulative: 1n }])
  })

  it('revalidates with a predicate and reports each reason', () => {
    const b = book(order('ask', 10n, 1n, { hash: 'keep' }), order('bid', 5n, 1n, { hash: 'poor', maker: 'm2' }), order('bid', 4n, 1n, { hash: 'done' }))
    const removed = b.revalidate(e => e.hash === 'poor' ? 'unfunded' : e.hash === 'done' ? 'filled' : undefined)
    expect(removed.map(r => [r.entry.hash, r.reason]).sort()).toEqual([['done', 'filled'], ['poor', 'unfunded']])
    expect(b.size).toBe(1)
    expect(b.bestBid()).toBeUndefined()
  })
})

describe('planFill', () => {
  const asks = (): OrderBook<string> => book(
    order('ask', 10n, 3n, { hash: 'a' }),
    order('ask', 10n, 5n, { hash: 'b', minFill: 4n }),
    order('ask', 11n, 2n, { hash: 'c', maker: 'taker' }),
    order('ask', 12n, 10n, { hash: 'd' }),
    order('ask', 20n, 10n, { hash: 'e' })
  )
  const cases: Array<[string, bigint, bigint, Array<[string, bigint]>, string | undefined]> = [
    ['takes the best order first', 2n, 100n, [['a', 2n]], undefined],
    ['takes a whole order then the next in time', 7n, 100n, [['a', 3n], ['b', 4n]], undefined],
    ['skips a partial below the min fill, then fills further down', 4n, 100n, [['a', 3n], ['d', 1n]], undefined],
    ['never takes its own order', 10n, 12n, [['a', 3n], ['b', 5n], ['d', 2n]], undefined],
    ['stops at the limit price', 30n, 11n, [['a', 3n], ['b', 5n]], 'price-limit'],
    ['reports too little liquidity', 100n, 100n, [['a', 3n], ['b', 5n], ['d', 10n], ['e', 10n]], 'no-liquidity']
  ]
  it.each(cases)('%s', (_name, units, limit, fills, shortBy) => {
    const b = asks()
    const plan = b.planFill('buy', units, limit, { now: NOW, taker: 'taker' })
    expect(plan.fills.map(f => [f.hash, f.units])).toEqual(fills)
    expect(plan.units).toBe(fills.reduce((s, f) => s + f[1], 0n))
    expect(plan.unfilled).toBe(units - plan.units)
    expect(plan.cost).toBe(plan.fills.reduce((s, f) => s + f.units * f.price, 0n))
    expect(plan.shortBy).toBe(shortBy)
    // planning changes nothing
    expect(b.size).toBe(5)
  })

  it('lists what it passed over and why', () => {
    const plan = asks().planFill('buy', 4n, 100n, { now: NOW, taker: 'taker' })
    expect(plan.skipped).toEqual([{ hash: 'b', reason: 'below-min-fill' }, { hash: 'c', reason: 'self-fill' }])
    const own = asks().planFill('buy', 10n, 11n, { now: NOW, taker: 'taker' })
    expect(own.skipped).toEqual([{ hash: 'c', reason: 'self-fill' }])
  })

  it('sells into bids dearest first', () => {
    const b = book(order('bid', 5n, 2n, { hash: 'p5' }), order('bid', 7n, 2n, { hash: 'p7' }), order('bid', 6n, 2n, { hash: 'p6' }))
    const plan = b.planFill('sell', 5n, 6n, { now: NOW })
    expect(plan.fills.map(f => [f.hash, f.units])).toEqual([['p7', 2n], ['p6', 2n]])
    expect(plan.shortBy).toBe('price-limit')
  })

  it('caps the orders in one plan', () => {
    const b = book(...Array.from({ length: 5 }, () => order('ask', 1n, 1n)))
    const plan = b.planFill('buy', 5n, 1n, { now: NOW, maxOrders: 3 })
    expect(plan.fills).toHaveLength(3)
    expect(plan.shortBy).toBe('too-many-orders')
  })

  it('never plans an expired order still in the book', () => {
    const b = book(order('ask', 1n, 5n, { hash: 'old', expiry: NOW + 1n }), order('ask', 2n, 5n, { hash: 'new' }))
    const plan = b.planFill('buy', 5n, 10n, { now: NOW + 2n })
    expect(plan.fills.map(f => f.hash)).toEqual(['new'])
    expect(plan.skipped).toEqual([{ hash: 'old', reason: 'expired' }])
  })

  it('fits compute fills inside their window', () => {
    const b = book(
      order('ask', 1n, 100n, { hash: 'later', windowStart: NOW + 10n, windowEnd: NOW + 10_000n }),
      order('ask', 2n, 100n, { hash: 'short', windowStart: 0n, windowEnd: NOW + 300n }),
      order('ask', 3n, 100n, { hash: 'tight', windowStart: 0n, windowEnd: NOW + 59n }),
      order('ask', 4n, 100n, { hash: 'open', windowStart: 0n, windowEnd: NOW + 1_000_000n })
    )
    const plan = b.planFill('buy', 10n, 10n, { now: NOW, unitSeconds: 60n })
    // 'short' fits 5 one-minute units before its window ends; 'tight' fits none
    expect(plan.fills.map(f => [f.hash, f.units])).toEqual([['short', 5n], ['open', 5n]])
    expect(plan.skipped).toEqual([{ hash: 'later', reason: 'outside-window' }, { hash: 'tight', reason: 'outside-window' }])
  })
})

describe('match', () => {
  it('fills what crosses and rests the rest', () => {
    const b = book(order('ask', 10n, 3n, { hash: 'a', maker: 'seller' }), order('ask', 12n, 3n, { hash: 'b', maker: 'seller' }))
    const r = b.match(order('bid', 11n, 5n, { hash: 'in', maker: 'buyer' }), NOW)
    expect(r.plan.fills.map(f => [f.hash, f.units])).toEqual([['a', 3n]])
    expect(r.rested?.units).toBe(2n)
    expect(b.bestBid()).toBe(11n)
    expect(b.bestAsk()).toBe(12n)
    expect(b.get('a')).toBeUndefined()
  })

  it('refuses to rest a rest that would cross', () => {
    const b = book(order('ask', 10n, 3n, { hash: 'own', maker: 'buyer' }))
    const r = b.match(order('bid', 11n, 2n, { hash: 'in', maker: 'buyer' }), NOW)
    expect(r.plan.fills).toEqual([])
    expect(r.restRefused).toBe('would-cross')
    expect(b.get('in')).toBeUndefined()
  })
})
