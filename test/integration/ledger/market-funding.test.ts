/**
 * The market's funding check against a real anvil: order status, lanes and what backs each side, read through the
 * contract bindings and cached; and the signed order messages themselves fill on the real ComputeMarket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MaxUint256, parseEther, parseUnits, Signature } from 'ethers'
import type { Wallet } from 'ethers'
import { startAnvil, type Anvil } from '../../../contracts/test/harness/anvil.js'
import { deployAll, fundInVault, type Deployment } from '../../../contracts/test/harness/deploy.js'
import { mined } from '../../../contracts/test/harness/tx.js'
import {
  FundingChecker, MarketBooks, OrderVerifier, bookKeyOf, signComputeMessage, signTradeMessage, toComputeOrder, validateOrderMessage
} from '../../../src/ledger/market/index.js'
import { MakerCommitments, fundingPass } from '../../../src/ledger/market/service/commitments.js'
import type {
  ComputeOrderFields, FundingSource, MarketSpec, OrderMessage, TradeOrderFields, ValidOrder
} from '../../../src/ledger/market/index.js'

const E = (n: string): bigint => parseEther(n)
const Q = (n: string): bigint => parseUnits(n, 6)
const PEER = '12D3KooWMarketFundingTestPeer'

describe('market funding check (anvil)', () => {
  let anvil: Anvil
  let d: Deployment
  let provider: Wallet
  let buyer: Wallet
  let poor: Wallet
  let noAllowance: Wallet
  let now: bigint
  let binding = 0n
  let clock = 0
  let funding: FundingChecker

  beforeAll(async () => {
    anvil = await startAnvil()
    d = await deployAll(anvil)
    ;[, provider, buyer, poor, noAllowance] = anvil.wallets
    await fundInVault(d, buyer, E('10'))
    // FTNS in the vault but no lock allowance for the market
    await mined(d.token.mint(noAllowance.address, E('10')))
    await mined(d.token.connect(noAllowance).approve(d.addresses.vault, MaxUint256))
    await mined(d.vault.connect(noAllowance).deposit(E('10')))
    // provider sells FTNS (approved), buyer buys with quote (approved); poor has tokens but no allowances
    await mined(d.token.mint(provider.address, E('50')))
    await mined(d.token.connect(provider).approve(d.addresses.market, MaxUint256))
    await mined(d.quote.mint(buyer.address, Q('100')))
    await mined(d.quote.connect(buyer).approve(d.addresses.market, MaxUint256))
    await mined(d.token.mint(poor.address, E('50')))
    await mined(d.quote.mint(poor.address, Q('100')))
    now = await anvil.now()
    funding = new FundingChecker(
      { market: d.addresses.market, vault: d.addresses.vault, ftns: d.addresses.token, ttlMs: 1_000 },
      { runner: anvil.provider, clock: { now: () => clock } }
    )
  }, 60_000)

  afterAll(async () => { await anvil?.stop() })

  const compute = (over: Partial<ComputeOrderFields> = {}): ComputeOrderFields => ({
    side: 'bid',
    resourceClass: '0x' + '77'.repeat(32),
    pricePerUnit: E('0.1').toString(),
    maxUnits: '200',
    minFill: '10',
    windowStart: (now - 60n).toString(),
    windowEnd: (now + 86_400n).toString(),
    expiry: (now + 3_600n).toString(),
    nonceLane: '0',
    laneNonce: '0',
    ...over
  })
  const trade = (over: Partial<TradeOrderFields> = {}): TradeOrderFields => ({
    side: 'ask', quote: d.addresses.quote, unitSize: E('1').toString(), price: Q('0.25').toString(), amount: '20', minFill: '1', expiry: (now + 3_600n).toString(), nonceLane: '0', laneNonce: '0', ...over
  })

  function valid (m: OrderMessage): ValidOrder {
    const market: MarketSpec = m.kind === 'compute'
      ? { name: 'compute', kind: 'compute' }
      : { name: 'ftns-tusd', kind: 'trade', quote: d.addresses.quote, unitSize: E('1') }
    const v = validateOrderMessage(m, { market, chainId: anvil.chainId, contract: d.addresses.market, now, verifier: new OrderVerifier(anvil.chainId, d.addresses.market) })
    if (!v.ok) throw new Error(v.refusal.message)
    return v.value
  }
  const signCompute = async (maker: Wallet, over: Partial<ComputeOrderFields> = {}): Promise<ValidOrder> =>
    valid(await signComputeMessage(maker, { market: 'compute', chainId: anvil.chainId, contract: d.addresses.market, peer: PEER }, compute(over), ++binding))
  const signTrade = async (maker: Wallet, over: Partial<TradeOrderFields> = {}): Promise<ValidOrder> =>
    valid(await signTradeMessage(maker, { market: 'ftns-tusd', chainId: anvil.chainId, contract: d.addresses.market, peer: PEER }, trade(over), ++binding))

  it('backs a compute bid by free vault balance capped by the lock allowance', async () => {
    // 10 FTNS free at 0.1 per unit: 100 of 200 units backed, above the minimum fill of 10
    const v = await signCompute(buyer)
    const r = await funding.check(v)
    expect(r.ok && r.value).toEqual({ filled: 0n, remaining: 200n, fundedUnits: 100n, needed: E('20'), available: E('10') })
    for (const [who, text] of [[poor, 'has 0 wei'], [noAllowance, 'has 0 wei']] as const) {
      const u = await funding.check(await signCompute(who))
      expect(u.ok).toBe(false)
      if (!u.ok) {
        expect(u.refusal.reason).toBe('unfunded')
        expect(u.refusal.message).toContain(text)
      }
    }
    // a minimum fill above what is backed is unfunded too
    const big = await funding.check(await signCompute(buyer, { minFill: '150' }))
    expect(!big.ok && big.refusal.reason).toBe('unfunded')
  })

  it('needs nothing on chain for a compute ask', async () => {
    const r = await funding.check(await signCompute(poor, { side: 'ask' }))
    expect(r.ok && r.value.fundedUnits).toBe(200n)
  })

  it('backs trade orders by token balance capped by allowance, per side', async () => {
    const ask = await funding.check(await signTrade(provider))
    expect(ask.ok && ask.value).toEqual({ filled: 0n, remaining: 20n, fundedUnits: 20n, needed: E('20'), available: E('50') })
    const bid = await funding.check(await signTrade(buyer, { side: 'bid', amount: '1000' }))
    // 100 quote at 0.25 per lot: 400 lots backed
    expect(bid.ok && bid.value.fundedUnits).toBe(400n)
    for (const side of ['ask', 'bid'] as const) {
      const r = await funding.check(await signTrade(poor, { side }))
      expect(!r.ok && r.refusal.reason).toBe('unfunded')
    }
  })

  it('the signed messages fill on the real market; fills, cancels and lanes show after the cache is dropped', async () => {
    const ask = await signCompute(provider, { side: 'ask', maxUnits: '30', minFill: '1' })
    if (ask.kind !== 'compute') throw new Error('compute expected')
    const sig = Signature.from(ask.message.signature)
    const order = toComputeOrder(ask.message.order)
    expect(await d.market.hashComputeOrder(order)).toBe(ask.hash)
    expect((await funding.check(ask)).ok).toBe(true)
    const reads = funding.readCount
    expect((await funding.check(ask)).ok).toBe(true)
    expect(funding.readCount).toBe(reads) // served from the cache

    await mined(d.market.connect(buyer).fillCompute(order, sig.r, sig.yParityAndS, 12n))
    // still cached: the check has not seen the fill yet
    const stale = await funding.check(ask)
    expect(stale.ok && stale.value.filled).toBe(0n)
    clock += 1_000 // the TTL passes
    const fresh = await funding.check(ask)
    expect(fresh.ok && fresh.value).toMatchObject({ filled: 12n, remaining: 18n })

    await mined(d.market.connect(buyer).fillCompute(order, sig.r, sig.yParityAndS, 18n))
    funding.forget({ hash: ask.hash })
    const full = await funding.check(ask)
    expect(!full.ok && full.refusal.reason).toBe('filled')

    const cancelMe = await signCompute(provider, { side: 'ask' })
    if (cancelMe.kind !== 'compute') throw new Error('compute expected')
    await mined(d.market.connect(provider).cancelCompute(cancelMe.order))
    const cancelled = await funding.check(cancelMe)
    expect(!cancelled.ok && cancelled.refusal.reason).toBe('cancelled')

    const laned = await signCompute(provider, { side: 'ask', nonceLane: '4' })
    expect((await funding.check(laned)).ok).toBe(true)
    await mined(d.market.connect(provider).cancelLane(4n))
    funding.forget({ maker: provider.address })
    const stale2 = await funding.check(laned)
    expect(!stale2.ok && stale2.refusal.reason).toBe('lane-stale')
    // an order signed with the lane's new nonce is live
    expect((await funding.check(await signCompute(provider, { side: 'ask', nonceLane: '4', laneNonce: '1' }))).ok).toBe(true)

    // the maker's lane cancel lands after this node's cached read of the lane, and its next order, signed with the new
    // nonce, arrives before the cache expires: 'lane-ahead' (not 'lane-stale'), and the check after it reads the lane
    // again (a gossiped order refused so is admitted again later: market service, admission-retry.ts)
    const before = await signCompute(provider, { side: 'ask', nonceLane: '5' })
    expect((await funding.check(before)).ok).toBe(true)
    await mined(d.market.connect(provider).cancelLane(5n))
    const ahead = await signCompute(provider, { side: 'ask', nonceLane: '5', laneNonce: '1' })
    const first = await funding.check(ahead)
    expect(!first.ok && first.refusal.reason).toBe('lane-ahead')
    expect((await funding.check(ahead)).ok).toBe(true)
  })

  it('a trade message fills atomically on chain and the buyer side then shows the spent quote', async () => {
    const ask = await signTrade(provider, { amount: '4' })
    if (ask.kind !== 'trade') throw new Error('trade expected')
    const sig = Signature.from(ask.message.signature)
    const before = await d.quote.balanceOf(buyer.address)
    await mined(d.market.connect(buyer).fillTrade(ask.order, sig.r, sig.yParityAndS, 4n))
    expect(await d.quote.balanceOf(buyer.address)).toBe(before - Q('1'))
    funding.forget()
    const bid = await funding.check(await signTrade(buyer, { side: 'bid', amount: '1000' }))
    expect(bid.ok && bid.value.available).toBe(before - Q('1'))
  })

  it('one balance backs a maker\'s orders together: the pass reads it once per maker and source and drops the newest', async () => {
    // a fresh checker (its own cache), on the test's clock
    const fresh = new FundingChecker({ market: d.addresses.market, vault: d.addresses.vault, ftns: d.addresses.token, ttlMs: 1_000 }, { runner: anvil.provider, clock: { now: () => clock } })
    const [free, allowance] = [await d.vault.freeBalanceOf(buyer.address), await d.vault.lockAllowance(buyer.address, d.addresses.market)]
    const avail = free < allowance ? free : allowance
    // bids of 1 FTNS each (10 units at 0.1, all or nothing): the vault backs floor(avail) of them, not all
    const backed = avail / E('1')
    const books = new MarketBooks()
    const index = new MakerCommitments()
    const where = new Map<string, string>()
    const entryOf = (h: string): ReturnType<ReturnType<MarketBooks['book']>['get']> => { const k = where.get(h); return k === undefined ? undefined : books.book(k).get(h) }
    const bids: ValidOrder[] = []
    for (let i = 0n; i < backed + 2n; i++) bids.push(await signCompute(buyer, { maxUnits: '10', minFill: '10' }))
    const asks = [await signTrade(provider, { amount: '3' }), await signTrade(provider, { amount: '4' })]
    for (const v of [...bids, ...asks]) {
      // each alone passes the per-order check: that is the gap the shared check closes
      expect((await fresh.check(v)).ok).toBe(true)
      books.insert(v, now)
      where.set(v.hash, bookKeyOf(v))
      index.add(fresh.sourceOf(v) as FundingSource, v.hash)
    }
    const calls = fresh.calls
    const pass = await fundingPass(index, entryOf, fresh)
    // two (maker, source) pairs, two contract calls each (balance, allowance), served from the checks' cached reads
    expect(pass).toMatchObject({ sources: 2, orders: bids.length + asks.length })
    expect(fresh.calls - calls).toBe(0)
    expect(pass.unfunded.map(u => u.hash)).toEqual(bids.slice(Number(backed)).map(v => v.hash))
    // once the cache is stale: one read per source, however many orders
    clock += 1_000
    const again = await fundingPass(index, entryOf, fresh)
    expect(again.calls).toBe(4)
    expect(again.unfunded).toHaveLength(2)
  })
})
