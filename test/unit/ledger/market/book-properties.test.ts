import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { OrderBook, SortedPrices } from '../../../../src/ledger/market/index.js'
import type { BookEntry, BookOrder, BookSide } from '../../../../src/ledger/market/index.js'

// Properties of the book against a plain reference model (a list sorted on demand), over random operation sequences.
const MAKERS = ['m0', 'm1', 'm2']
const T0 = 1_000n

const orderArb = fc.record({
  side: fc.constantFrom<BookSide>('ask', 'bid'),
  price: fc.bigInt({ min: 1n, max: 12n }),
  units: fc.bigInt({ min: 1n, max: 20n }),
  minFillRatio: fc.integer({ min: 0, max: 100 }),
  ttl: fc.bigInt({ min: 0n, max: 50n }),
  maker: fc.constantFrom(...MAKERS),
  lane: fc.bigInt({ min: 0n, max: 1n }),
  laneNonce: fc.bigInt({ min: 0n, max: 1n })
})

const opArb = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('insert' as const), o: orderArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('cancel' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('lane' as const), maker: fc.constantFrom(...MAKERS), lane: fc.bigInt({ min: 0n, max: 1n }), nonce: fc.bigInt({ min: 0n, max: 2n }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('tick' as const), dt: fc.bigInt({ min: 0n, max: 10n }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('take' as const), side: fc.constantFrom<'buy' | 'sell'>('buy', 'sell'), units: fc.bigInt({ min: 1n, max: 40n }), limit: fc.bigInt({ min: 1n, max: 12n }), taker: fc.constantFrom(...MAKERS, 'outsider') }) }
)

let counter = 0
function toOrder (o: { side: BookSide, price: bigint, units: bigint, minFillRatio: number, ttl: bigint, maker: string, lane: bigint, laneNonce: bigint }, now: bigint): BookOrder<null> {
  const minFill = (o.units * BigInt(o.minFillRatio)) / 100n
  return { hash: `h${++counter}`, maker: o.maker, side: o.side, price: o.price, units: o.units, minFill, expiry: now + o.ttl, nonceLane: o.lane, laneNonce: o.laneNonce, payload: null }
}

/** The reference: live orders with their arrival number, sorted by price-time priority on demand. */
interface Ref { o: BookOrder<null>, seq: number, units: bigint }
function sorted (ref: Ref[], side: BookSide): Ref[] {
  return ref.filter(r => r.o.side === side).sort((a, b) =>
    a.o.price === b.o.price ? a.seq - b.seq : (side === 'ask' ? (a.o.price < b.o.price ? -1 : 1) : (a.o.price > b.o.price ? -1 : 1)))
}

function checkAgainst (book: OrderBook<null>, ref: Ref[]): void {
  for (const side of ['ask', 'bid'] as const) {
    const want = sorted(ref, side)
    const got: Array<BookEntry<null>> = [...book.orders(side)]
    expect(got.map(e => [e.hash, e.units])).toEqual(want.map(r => [r.o.hash, r.units]))
    const depthUnits = book.depth(side, 1_000).reduce((s, l) => s + l.units, 0n)
    expect(depthUnits).toBe(want.reduce((s, r) => s + r.units, 0n))
  }
  expect(book.size).toBe(ref.length)
}

describe('OrderBook properties', () => {
  it('matches the reference model: priority, units conserved, plans valid, expired never planned', () => {
    fc.assert(fc.property(fc.array(opArb, { maxLength: 60 }), fc.constantFrom(1, 2, 256), (ops, priceChunk) => {
      // small price chunks split and merge the price list often
      const book = new OrderBook<null>({ priceChunk })
      let ref: Ref[] = []
      let seq = 0
      let now = T0
      let inserted = 0n
      let filled = 0n
      let dropped = 0n
      for (const step of ops) {
        if (step.op === 'insert') {
          const o = toOrder(step.o, now)
          expect(book.insert(o, now).ok).toBe(true)
          ref.push({ o, seq: seq++, units: o.units })
          inserted += o.units
        } else if (step.op === 'cancel') {
          if (ref.length === 0) continue
          const victim = ref[step.pick % ref.length]
          expect(book.cancel(victim.o.hash)?.reason).toBe('cancelled')
          ref = ref.filter(r => r !== victim)
          dropped += victim.units
        } else if (step.op === 'lane') {
          const removed = book.cancelLane(step.maker, step.lane, step.nonce)
          const gone = ref.filter(r => r.o.maker === step.maker && r.o.nonceLane === step.lane && r.o.laneNonce < step.nonce)
          expect(removed.map(r => r.entry.hash).sort()).toEqual(gone.map(r => r.o.hash).sort())
          ref = ref.filter(r => !gone.includes(r))
          dropped += gone.reduce((s, r) => s + r.units, 0n)
        } else if (step.op === 'tick') {
          now += step.dt
          if (step.dt % 2n === 0n) {
            const removed = book.expire(now)
            const gone = ref.filter(r => now > r.o.expiry)
            expect(removed.map(r => r.entry.hash).sort()).toEqual(gone.map(r => r.o.hash).sort())
            ref = ref.filter(r => !gone.includes(r))
            dropped += gone.reduce((s, r) => s + r.units, 0n)
          }
        } else {
          const plan = book.planFill(step.side, step.units, step.limit, { now, taker: step.taker })
          const side = step.side === 'buy' ? 'ask' : 'bid'
          const order = sorted(ref, side)
          const rank = new Map(order.map((r, i) => [r.o.hash, i]))
          let last = -1
          for (const f of plan.fills) {
            const r = ref.find(x => x.o.hash === f.hash)
            if (r === undefined) throw new Error('planned an order not in the book')
            expect(rank.get(f.hash) ?? -1).toBeGreaterThan(last) // priority order, each order once
            last = rank.get(f.hash) ?? -1
            expect(now <= r.o.expiry).toBe(true) // expired orders are never planned
            expect(r.o.maker).not.toBe(step.taker)
            expect(f.units > 0n && f.units <= r.units).toBe(true)
            expect(f.units >= r.o.minFill || f.units === r.units).toBe(true)
            expect(step.side === 'buy' ? f.price <= step.limit : f.price >= step.limit).toBe(true)
          }
          expect(plan.units + plan.unfilled).toBe(step.units)
          // an eligible order ranked before the last planned one, and not planned, must have been too big to split
          for (const r of order.slice(0, last + 1)) {
            if (plan.fills.some(f => f.hash === r.o.hash)) continue
            const eligible = now <= r.o.expiry && r.o.maker !== step.taker
            if (eligible) expect(plan.skipped.some(s => s.hash === r.o.hash && s.reason === 'below-min-fill')).toBe(true)
          }
          for (const f of plan.fills) {
            expect(book.applyFill(f.hash, f.units).ok).toBe(true)
            const r = ref.find(x => x.o.hash === f.hash)
            if (r !== undefined) r.units -= f.units
            filled += f.units
          }
          ref = ref.filter(r => r.units > 0n)
        }
        checkAgainst(book, ref)
        // units are conserved: what went in is what rests, was filled, or was removed
        expect(ref.reduce((s, r) => s + r.units, 0n) + filled + dropped).toBe(inserted)
      }
    }), { numRuns: 300 })
  })

  it('never leaves the book crossed after matching', () => {
    fc.assert(fc.property(fc.array(fc.record({ o: orderArb, dt: fc.bigInt({ min: 0n, max: 5n }), cancel: fc.option(fc.nat(), { freq: 5 }) }), { maxLength: 80 }), steps => {
      const book = new OrderBook<null>()
      let now = T0
      let inserted = 0n
      let filledTwice = 0n
      let rested = 0n
      const live: string[] = []
      for (const s of steps) {
        now += s.dt
        if (s.cancel !== null && live.length > 0) book.cancel(live[s.cancel % live.length])
        const incoming = toOrder(s.o, now)
        const r = book.match(incoming, now)
        inserted += incoming.units
        // a match fills both sides: the taker's units equal the makers' units taken
        filledTwice += r.plan.units
        if (r.rested !== undefined) {
          live.push(r.rested.hash)
          rested += r.rested.units
          expect(r.rested.units).toBe(incoming.units - r.plan.units)
        } else if (r.restRefused !== undefined) {
          expect(r.restRefused).toBe('would-cross')
        } else {
          expect(r.plan.units).toBe(incoming.units)
        }
        const bid = book.bestBid()
        const ask = book.bestAsk()
        if (bid !== undefined && ask !== undefined) expect(bid < ask).toBe(true)
      }
      expect(filledTwice <= inserted).toBe(true)
      expect(rested <= inserted).toBe(true)
    }), { numRuns: 300 })
  })
})

describe('SortedPrices', () => {
  it('keeps distinct prices in order through inserts and deletes, for any chunk size', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ add: fc.boolean(), p: fc.bigInt({ min: 0n, max: 200n }) }), { maxLength: 300 }),
      fc.integer({ min: 1, max: 8 }),
      fc.boolean(),
      (ops, chunk, descending) => {
        const before = (a: bigint, b: bigint): boolean => descending ? a > b : a < b
        const list = new SortedPrices(before, chunk)
        const ref = new Set<bigint>()
        for (const { add, p } of ops) {
          if (add && !ref.has(p)) { list.insert(p); ref.add(p) } else if (!add) { list.delete(p); ref.delete(p) }
        }
        const want = [...ref].sort((a, b) => before(a, b) ? -1 : 1)
        expect([...list]).toEqual(want)
        expect(list.size).toBe(want.length)
        expect(list.first()).toBe(want[0])
      }), { numRuns: 300 })
  })
})
