/**
 * Funding across a maker's orders: the pure rule (`allocateFunding`), and the service's index and funding pass over
 * real signed orders in real books (the balances are a table: what the chain would answer; the anvil test in
 * test/integration/ledger/market-funding.test.ts runs the same pass against the contracts).
 */
import { describe, expect, it } from 'vitest'
import { Wallet, getAddress } from 'ethers'
import {
  FundingChecker, MarketBooks, OrderVerifier, allocateFunding, bookKeyOf, signComputeMessage, signTradeMessage, smallestFill, validateOrderMessage
} from '../../../../src/ledger/market/index.js'
import { MakerCommitments, fundingPass } from '../../../../src/ledger/market/service/commitments.js'
import type { ComputeOrderFields, FundingClaim, FundingSource, MarketSpec, TradeOrderFields, ValidOrder } from '../../../../src/ledger/market/index.js'

const E = (n: bigint): bigint => n * 10n ** 18n
const claim = (hash: string, perUnit: bigint, units: bigint, minFill = 1n): FundingClaim => ({ hash, perUnit, units, minFill })

describe('allocateFunding: one balance shared by a maker\'s orders, oldest first', () => {
  const cases: Array<{ name: string, available: bigint, claims: FundingClaim[], funded: Array<[string, bigint]>, unfunded: string[], left: bigint }> = [
    { name: 'nothing to share', available: 100n, claims: [], funded: [], unfunded: [], left: 100n },
    { name: 'both fit whole', available: 100n, claims: [claim('a', 10n, 5n), claim('b', 10n, 5n)], funded: [['a', 5n], ['b', 5n]], unfunded: [], left: 0n },
    // the per-order check would pass both (each alone needs 80 of 100); together only the first is backed
    { name: 'the same balance is not counted twice', available: 100n, claims: [claim('a', 10n, 8n, 8n), claim('b', 10n, 8n, 8n)], funded: [['a', 8n]], unfunded: ['b'], left: 20n },
    { name: 'a later order backed in part, down to its minimum fill', available: 100n, claims: [claim('a', 10n, 6n), claim('b', 10n, 10n, 3n)], funded: [['a', 6n], ['b', 4n]], unfunded: [], left: 0n },
    { name: 'below its minimum fill it is unfunded', available: 100n, claims: [claim('a', 10n, 8n), claim('b', 10n, 10n, 3n)], funded: [['a', 8n]], unfunded: ['b'], left: 20n },
    { name: 'an unfunded order commits nothing: a smaller later one still fits', available: 100n, claims: [claim('a', 10n, 7n), claim('b', 10n, 5n, 5n), claim('c', 10n, 3n, 3n)], funded: [['a', 7n], ['c', 3n]], unfunded: ['b'], left: 0n },
    { name: 'the first order alone, partly backed (the one-order rule)', available: 55n, claims: [claim('a', 10n, 10n, 5n)], funded: [['a', 5n]], unfunded: [], left: 5n },
    { name: 'a rest below minFill must be taken whole', available: 20n, claims: [claim('a', 10n, 3n, 5n)], funded: [], unfunded: ['a'], left: 20n },
    { name: 'minFill 0 means one unit', available: 10n, claims: [claim('a', 10n, 4n, 0n)], funded: [['a', 1n]], unfunded: [], left: 0n },
    { name: 'no balance, nothing backed', available: 0n, claims: [claim('a', 1n, 1n)], funded: [], unfunded: ['a'], left: 0n },
    { name: 'a negative balance counts as none', available: -5n, claims: [claim('a', 1n, 1n)], funded: [], unfunded: ['a'], left: 0n },
    { name: 'filled or free orders commit nothing', available: 10n, claims: [claim('a', 10n, 0n), claim('b', 0n, 9n), claim('c', 10n, 1n)], funded: [['a', 0n], ['b', 9n], ['c', 1n]], unfunded: [], left: 0n },
    { name: 'different prices on one source', available: E(1n), claims: [claim('a', E(1n) / 4n, 2n), claim('b', E(1n) / 10n, 5n, 5n), claim('c', E(1n) / 10n, 1n)], funded: [['a', 2n], ['b', 5n]], unfunded: ['c'], left: 0n }
  ]
  it.each(cases)('$name', ({ available, claims, funded, unfunded, left }) => {
    const a = allocateFunding(available, claims)
    expect(a.funded.map(f => [f.hash, f.fundedUnits])).toEqual(funded)
    expect(a.unfunded.map(u => u.hash)).toEqual(unfunded)
    expect(a.left).toBe(left)
    // never more committed than there was, and each funded order at least its smallest fill
    const committed = a.funded.reduce((s, f) => s + f.committed, 0n)
    expect(committed + a.left).toBe(available > 0n ? available : 0n)
    for (const f of a.funded) {
      const c = claims.find(x => x.hash === f.hash) as FundingClaim
      expect(f.committed).toBe(f.fundedUnits * c.perUnit)
      if (c.units > 0n && c.perUnit > 0n) expect(f.fundedUnits).toBeGreaterThanOrEqual(smallestFill(c.units, c.minFill))
    }
  })

  it('smallestFill follows the contract: minFill, one unit for 0, the whole rest when smaller', () => {
    expect([smallestFill(10n, 3n), smallestFill(10n, 0n), smallestFill(2n, 5n), smallestFill(5n, 5n)]).toEqual([3n, 1n, 2n, 5n])
  })
})

describe('MakerCommitments and the funding pass over real books', () => {
  const maker = new Wallet('0x' + '31'.repeat(32))
  const other = new Wallet('0x' + '32'.repeat(32))
  const CHAIN = 31337n
  const CONTRACT = getAddress('0x' + 'ab'.repeat(20))
  const VAULT = getAddress('0x' + 'ac'.repeat(20))
  const FTNS = getAddress('0x' + 'ad'.repeat(20))
  const QUOTE = getAddress('0x' + 'cd'.repeat(20))
  const PEER = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
  const NOW = 1_800_000_000n
  const COMPUTE: MarketSpec = { name: 'compute', kind: 'compute' }
  const TUSD: MarketSpec = { name: 'ftns-tusd', kind: 'trade', quote: QUOTE, unitSize: E(1n) }
  // sourceOf needs no chain; the pass's reads go through the `available` table below
  const funding = new FundingChecker({ market: CONTRACT, vault: VAULT, ftns: FTNS }, { runner: { provider: null } })
  let salt = 1n

  async function bid (signer: Wallet, price: bigint, units: bigint, minFill = 1n): Promise<ValidOrder> {
    const f: ComputeOrderFields = {
      side: 'bid', resourceClass: '0x' + '5a'.repeat(32), pricePerUnit: price.toString(), maxUnits: units.toString(), minFill: minFill.toString(),
      windowStart: (NOW - 60n).toString(), windowEnd: (NOW + 86_400n).toString(), expiry: (NOW + 3600n).toString(), nonceLane: '0', laneNonce: '0'
    }
    const m = await signComputeMessage(signer, { market: 'compute', chainId: CHAIN, contract: CONTRACT, peer: PEER }, f, salt++)
    const v = validateOrderMessage(m, { market: COMPUTE, chainId: CHAIN, contract: CONTRACT, now: NOW, verifier: new OrderVerifier(CHAIN, CONTRACT) })
    if (!v.ok) throw new Error(v.refusal.message)
    return v.value
  }
  async function tradeAsk (lots: bigint): Promise<ValidOrder> {
    const f: TradeOrderFields = { side: 'ask', quote: QUOTE, unitSize: E(1n).toString(), price: '250000', amount: lots.toString(), minFill: '1', expiry: (NOW + 3600n).toString(), nonceLane: '0', laneNonce: '0' }
    const m = await signTradeMessage(maker, { market: 'ftns-tusd', chainId: CHAIN, contract: CONTRACT, peer: PEER }, f, salt++)
    const v = validateOrderMessage(m, { market: TUSD, chainId: CHAIN, contract: CONTRACT, now: NOW, verifier: new OrderVerifier(CHAIN, CONTRACT) })
    if (!v.ok) throw new Error(v.refusal.message)
    return v.value
  }

  /** A node's books and index, booking orders the way MarketCore.insert does. */
  function node (): { books: MarketBooks, index: MakerCommitments, entryOf: (h: string) => ReturnType<ReturnType<MarketBooks['book']>['get']>, book: (v: ValidOrder, available: bigint) => string | undefined } {
    const books = new MarketBooks()
    const index = new MakerCommitments()
    const where = new Map<string, string>()
    const entryOf = (h: string): ReturnType<ReturnType<MarketBooks['book']>['get']> => { const k = where.get(h); return k === undefined ? undefined : books.book(k).get(h) }
    const book = (v: ValidOrder, available: bigint): string | undefined => {
      const source = funding.sourceOf(v) as FundingSource
      const size = v.kind === 'compute' ? v.order.maxUnits : v.order.amount
      const refused = index.atAdmission(v, source, available, size, entryOf) ?? index.atBooking(v, source, size, entryOf)
      if (refused !== undefined) return refused.reason
      books.insert(v, NOW)
      where.set(v.hash, bookKeyOf(v))
      index.add(source, v.hash)
      return undefined
    }
    return { books, index, entryOf, book }
  }

  it('sources: a compute bid draws on the vault, a trade ask on FTNS, a trade bid on the quote; a compute ask on nothing', async () => {
    const b = await bid(maker, 10n, 1n)
    expect(funding.sourceOf(b)).toEqual({ key: `${maker.address.toLowerCase()}:vault`, maker: maker.address.toLowerCase(), perUnit: 10n })
    const a = await tradeAsk(2n)
    expect(funding.sourceOf(a)).toMatchObject({ key: `${maker.address.toLowerCase()}:${FTNS.toLowerCase()}`, token: FTNS.toLowerCase(), perUnit: E(1n) })
  })

  it('refuses a newcomer its maker\'s earlier orders leave unbacked (each alone would pass), not another maker\'s', async () => {
    const n = node()
    const vault = 100n
    expect(n.book(await bid(maker, 10n, 6n, 6n), vault)).toBeUndefined()
    // 60 committed: a second 6-unit bid needs 60 more of the 40 left
    const second = await bid(maker, 10n, 6n, 6n)
    expect(n.book(second, vault)).toBe('unfunded')
    const msg = n.index.atAdmission(second, funding.sourceOf(second) as FundingSource, vault, 6n, n.entryOf)?.message
    expect(msg).toMatch(/has 100 wei available and its 1 earlier orders leave 40; the smallest fill of 0x[0-9a-f]{64} needs 60/)
    // a smaller one fits in what is left; another maker's balance is its own
    expect(n.book(await bid(maker, 10n, 4n, 4n), vault)).toBeUndefined()
    expect(n.book(await bid(other, 10n, 6n, 6n), vault)).toBeUndefined()
    // trade asks draw on FTNS, not on the vault
    expect(n.book(await tradeAsk(3n), E(3n))).toBeUndefined()
    expect(n.book(await tradeAsk(1n), E(3n))).toBe('unfunded')
  })

  it('two orders admitted at once: the booking weighs the second again and refuses it', async () => {
    const n = node()
    const [x, y] = [await bid(maker, 10n, 8n, 8n), await bid(maker, 10n, 8n, 8n)]
    const src = funding.sourceOf(x) as FundingSource
    // both admitted against an empty book
    expect(n.index.atAdmission(x, src, 100n, 8n, n.entryOf)).toBeUndefined()
    expect(n.index.atAdmission(y, src, 100n, 8n, n.entryOf)).toBeUndefined()
    expect(n.index.atBooking(x, src, 8n, n.entryOf)).toBeUndefined()
    n.books.insert(x, NOW)
    const where = bookKeyOf(x)
    // book x the way the service does, then y's booking sees it
    const entryOf = (h: string): ReturnType<typeof n.entryOf> => h === x.hash ? n.books.book(where).get(h) : undefined
    n.index.add(src, x.hash)
    expect(n.index.atBooking(y, src, 8n, entryOf)?.reason).toBe('unfunded')
  })

  it('the pass reads one balance per maker and source, whatever the number of orders, and drops the newest it cannot back', async () => {
    const n = node()
    const orders: ValidOrder[] = []
    for (let i = 0; i < 12; i++) {
      const v = await bid(maker, 10n, 1n)
      orders.push(v)
      expect(n.book(v, 1000n)).toBeUndefined()
    }
    for (let i = 0; i < 5; i++) expect(n.book(await bid(other, 10n, 1n), 1000n)).toBeUndefined()
    // the balances now (the maker withdrew down to 9 units' worth); each read is one (maker, source), two calls
    const balances = new Map([[maker.address.toLowerCase(), 90n], [other.address.toLowerCase(), 1000n]])
    const reads: string[] = []
    let calls = 0
    const chain = {
      get calls () { return calls },
      available: async (s: FundingSource) => { reads.push(s.key); calls += 2; return balances.get(s.maker) ?? 0n }
    }
    const pass = await fundingPass(n.index, n.entryOf, chain)
    expect(reads.sort()).toEqual([`${maker.address.toLowerCase()}:vault`, `${other.address.toLowerCase()}:vault`].sort())
    expect(pass).toMatchObject({ sources: 2, orders: 17, calls: 4 })
    // the three newest of the maker's twelve go
    expect(pass.unfunded.map(u => u.hash)).toEqual(orders.slice(9).map(v => v.hash))
    // a failed read skips that source (not the orders' fault)
    const failing = { calls: 0, available: async (s: FundingSource) => { if (s.maker === maker.address.toLowerCase()) throw new Error('rpc down'); return 1000n } }
    expect((await fundingPass(n.index, n.entryOf, failing)).unfunded).toEqual([])
    // orders that left the books are forgotten by the index
    for (const v of orders) n.books.book(bookKeyOf(v)).cancel(v.hash)
    const after = await fundingPass(n.index, n.entryOf, chain)
    expect(after).toMatchObject({ sources: 1, orders: 5 })
    expect(n.index.size).toBe(5)
  })
})
