/**
 * ComputeMarket: compute fills open vault locks; partial fills in integer units; minimum fills; cancelling one order or
 * a whole nonce lane; expiry and windows; several fills in one transaction, all or none; two takers racing for one
 * order; FTNS/quote trades that move both tokens or neither; re-entry through a hostile quote token.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { MaxUint256, parseEther, parseUnits } from 'ethers'
import type { Wallet } from 'ethers'
import { BID, computeFillSalt, eventsOf, lockIdOf } from '../../src/ledger/contracts/index.js'
import type { ComputeMarketContract } from '../../src/ledger/contracts/index.js'
import { deployHostileToken } from './bindings/hostile-token.js'
import { startAnvil, type Anvil } from './harness/anvil.js'
import { deployAll, expectRevert, fundInVault, PARAMS, type Deployment } from './harness/deploy.js'
import { computeOrder, tradeOrder } from './harness/orders.js'
import { mined } from './harness/tx.js'

const E = (n: string): bigint => parseEther(n)
const Q = (n: string): bigint => parseUnits(n, 6)

describe('ComputeMarket', () => {
  let anvil: Anvil
  let d: Deployment
  let snap: string
  let provider: Wallet
  let buyer: Wallet
  let buyer2: Wallet
  let now: bigint

  beforeAll(async () => {
    anvil = await startAnvil()
    d = await deployAll(anvil)
    ;[, provider, buyer, buyer2] = anvil.wallets
    for (const w of [provider, buyer, buyer2]) {
      await fundInVault(d, w, E('100'))
      await mined(d.token.mint(w.address, E('100')))
      await mined(d.token.connect(w).approve(d.addresses.market, MaxUint256))
      await mined(d.quote.mint(w.address, Q('1000')))
      await mined(d.quote.connect(w).approve(d.addresses.market, MaxUint256))
    }
  })
  afterAll(async () => { await anvil?.stop() })
  beforeEach(async () => {
    snap = await anvil.snapshot()
    now = await anvil.now()
  })
  afterEach(async () => { await anvil.revert(snap) })

  const as = (w: Wallet): ComputeMarketContract => d.market.connect(w)

  it('exposes its configuration', async () => {
    expect(await d.market.vault()).toBe(d.addresses.vault)
    expect(await d.market.ftns()).toBe(d.addresses.token)
    expect(await d.market.unitSeconds()).toBe(PARAMS.unitSeconds)
    expect(await d.market.settlementGrace()).toBe(PARAMS.settlementGrace)
  })

  describe('compute fills', () => {
    it('fills an ask partially: the buyer\'s funds move into a lock for the provider, with the predicted id', async () => {
      const o = await computeOrder(provider, d.marketDomain, now)
      expect(await d.market.hashComputeOrder(o.order)).toBe(o.hash)
      const lockId = lockIdOf(buyer.address, provider.address, computeFillSalt(o.hash, 0n))
      expect(await as(buyer).fillCompute.staticCall(o.order, o.r, o.vs, 30n)).toBe(lockId)
      const r = await mined(as(buyer).fillCompute(o.order, o.r, o.vs, 30n))
      const block = await anvil.provider.getBlock(r.blockNumber)
      const t = BigInt(block?.timestamp ?? 0)
      expect(eventsOf(d.market, r, 'ComputeFilled')).toEqual([{ orderHash: o.hash, taker: buyer.address, units: 30n, lockId }])
      expect(eventsOf(d.vault, r, 'LockOpened')).toEqual([{
        lockId, payer: buyer.address, provider: provider.address, amount: E('0.3'),
        expiry: t + 30n * PARAMS.unitSeconds + PARAMS.settlementGrace, salt: computeFillSalt(o.hash, 0n), opener: d.addresses.market
      }])
      expect(await d.vault.freeBalanceOf(buyer.address)).toBe(E('99.7'))
      expect((await d.market.orderStatus(o.order.maker, o.order.salt)).filled).toBe(30n)
      // the rest, by another buyer: a second lock with its own id
      const r2 = await mined(as(buyer2).fillCompute(o.order, o.r, o.vs, 70n))
      const [fill2] = eventsOf(d.market, r2, 'ComputeFilled')
      expect(fill2.lockId).toBe(lockIdOf(buyer2.address, provider.address, computeFillSalt(o.hash, 30n)))
      await expectRevert(as(buyer).fillCompute(o.order, o.r, o.vs, 1n), d.market, 'Overfill', [o.hash, 0n])
    })

    it('fills a bid: the provider takes it and the maker pays', async () => {
      const o = await computeOrder(buyer, d.marketDomain, now, { side: BID })
      const r = await mined(as(provider).fillCompute(o.order, o.r, o.vs, 10n))
      const [lock] = eventsOf(d.vault, r, 'LockOpened')
      expect([lock.payer, lock.provider, lock.amount]).toEqual([buyer.address, provider.address, E('0.1')])
      expect(await d.vault.freeBalanceOf(buyer.address)).toBe(E('99.9'))
    })

    it('enforces the minimum fill, except for the whole rest', async () => {
      const o = await computeOrder(provider, d.marketDomain, now, { maxUnits: 25n, minFill: 10n })
      await expectRevert(as(buyer).fillCompute(o.order, o.r, o.vs, 9n), d.market, 'BelowMinFill', [o.hash, 10n])
      await mined(as(buyer).fillCompute(o.order, o.r, o.vs, 20n))
      await mined(as(buyer).fillCompute(o.order, o.r, o.vs, 5n))
      await expectRevert(as(buyer).fillCompute(o.order, o.r, o.vs, 0n), d.market, 'ZeroUnits')
    })

    it('respects expiry and the window', async () => {
      const late = await computeOrder(provider, d.marketDomain, now, { windowStart: now + 600n })
      await expectRevert(as(buyer).fillCompute(late.order, late.r, late.vs, 1n), d.market, 'OutsideWindow', [late.hash])
      const short = await computeOrder(provider, d.marketDomain, now, { windowEnd: now + 600n })
      // 20 minutes do not fit in a window that closes in 10
      await expectRevert(as(buyer).fillCompute(short.order, short.r, short.vs, 20n), d.market, 'OutsideWindow')
      await mined(as(buyer).fillCompute(short.order, short.r, short.vs, 5n))
      const o = await computeOrder(provider, d.marketDomain, now, { expiry: now + 100n })
      await anvil.warp(200)
      await expectRevert(as(buyer).fillCompute(o.order, o.r, o.vs, 1n), d.market, 'OrderExpired', [o.hash])
    })

    it('refuses forged, altered and self fills, and a payer that did not approve the market', async () => {
      const o = await computeOrder(provider, d.marketDomain, now)
      await expectRevert(as(buyer).fillCompute({ ...o.order, pricePerUnit: 1n }, o.r, o.vs, 1n), d.market, 'InvalidSignature')
      const forged = await computeOrder(buyer2, d.marketDomain, now, { maker: provider.address })
      await expectRevert(as(buyer).fillCompute(forged.order, forged.r, forged.vs, 1n), d.market, 'InvalidSignature', [forged.hash])
      await expectRevert(as(provider).fillCompute(o.order, o.r, o.vs, 1n), d.market, 'SelfFill', [o.hash])
      const odd = await computeOrder(provider, d.marketDomain, now, { side: 2 })
      await expectRevert(as(buyer).fillCompute(odd.order, odd.r, odd.vs, 1n), d.market, 'InvalidSide', [2n])
      await mined(d.vault.connect(buyer).approveLocker(d.addresses.market, 0n))
      await expectRevert(as(buyer).fillCompute(o.order, o.r, o.vs, 1n), d.vault, 'InsufficientLockAllowance')
      const big = await computeOrder(provider, d.marketDomain, now, { pricePerUnit: E('2') })
      await mined(d.vault.connect(buyer2).approveLocker(d.addresses.market, MaxUint256))
      await expectRevert(as(buyer2).fillCompute(big.order, big.r, big.vs, 51n), d.vault, 'InsufficientFreeBalance')
      expect((await d.market.orderStatus(big.order.maker, big.order.salt)).filled).toBe(0n)
    })

    it('refuses a malleated (high-s) signature, and an unrecoverable one even for an order naming the zero address', async () => {
      // the contract recovers signers itself (no OpenZeppelin ECDSA): these are the cases that code must refuse
      const t = await tradeOrder(provider, d.marketDomain, d.addresses.quote, now)
      const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
      const vs = BigInt(t.vs)
      const s = vs & ((1n << 255n) - 1n)
      const highVs = '0x' + ((((vs >> 255n) ^ 1n) << 255n) | (n - s)).toString(16).padStart(64, '0')
      await expectRevert(as(buyer).fillTrade(t.order, t.r, highVs, 1n), d.market, 'InvalidSignature', [t.hash])
      await mined(as(buyer).fillTrade(t.order, t.r, t.vs, 1n)) // the canonical form of the same signature fills
      const zero = '0x0000000000000000000000000000000000000000'
      const noSig = '0x' + '00'.repeat(32)
      const o = await computeOrder(provider, d.marketDomain, now, { maker: zero, side: BID })
      await expectRevert(as(provider).fillCompute(o.order, noSig, noSig, 1n), d.market, 'InvalidSignature', [o.hash])
      await expectRevert(as(provider).fillCompute(o.order, t.r, t.vs, 1n), d.market, 'InvalidSignature', [o.hash])
    })
  })

  describe('fill records (per maker and salt, four to a storage slot)', () => {
    it('keeps the four orders of one slot apart, per maker: fills and a cancellation touch only their own field', async () => {
      const sizes = [10n, 20n, 30n, 40n]
      const orders = await Promise.all(sizes.map(async (size, i) =>
        await tradeOrder(provider, d.marketDomain, d.addresses.quote, now, { salt: (5n << 2n) + BigInt(i), amount: size })))
      const theirs = await tradeOrder(buyer2, d.marketDomain, d.addresses.quote, now, { salt: 5n << 2n, amount: 10n })
      for (const [i, o] of orders.entries()) await mined(as(buyer).fillTrade(o.order, o.r, o.vs, BigInt(i + 1)))
      await mined(as(provider).cancelTrade(orders[1].order))
      await mined(as(buyer).fillTrade(theirs.order, theirs.r, theirs.vs, 10n)) // another maker's record of that salt
      const status = async (o: typeof theirs): Promise<[bigint, boolean]> => {
        const s = await d.market.orderStatus(o.order.maker, o.order.salt)
        return [s.filled, s.cancelled]
      }
      expect(await Promise.all(orders.map(status))).toEqual([[1n, false], [2n, true], [3n, false], [4n, false]])
      expect(await status(theirs)).toEqual([10n, false])
      await expectRevert(as(buyer).fillTrade(orders[1].order, orders[1].r, orders[1].vs, 1n), d.market, 'OrderCancelledAlready', [orders[1].hash])
      // each order still fills exactly to its own size, no further
      for (const [i, o] of orders.entries()) {
        if (i === 1) continue
        await mined(as(buyer).fillTrade(o.order, o.r, o.vs, sizes[i] - BigInt(i + 1)))
        await expectRevert(as(buyer).fillTrade(o.order, o.r, o.vs, 1n), d.market, 'Overfill', [o.hash, 0n])
      }
      expect(await Promise.all(orders.map(status))).toEqual([[10n, false], [2n, true], [30n, false], [40n, false]])
    })

    it('counts two orders of one maker with the same salt as one: never past either size, cancelled together', async () => {
      const a = await computeOrder(provider, d.marketDomain, now, { salt: 99n, maxUnits: 100n })
      const b = await computeOrder(provider, d.marketDomain, now, { salt: 99n, maxUnits: 50n, pricePerUnit: E('0.02') })
      await mined(as(buyer).fillCompute(a.order, a.r, a.vs, 40n))
      await expectRevert(as(buyer).fillCompute(b.order, b.r, b.vs, 11n), d.market, 'Overfill', [b.hash, 10n])
      await mined(as(buyer).fillCompute(b.order, b.r, b.vs, 10n))
      await mined(as(provider).cancelCompute(b.order))
      await expectRevert(as(buyer).fillCompute(a.order, a.r, a.vs, 1n), d.market, 'OrderCancelledAlready', [a.hash])
    })

    it('refuses a fill past 2^63 - 1 units in one record', async () => {
      const huge = (1n << 63n) - 1n
      const o = await tradeOrder(provider, d.marketDomain, d.addresses.quote, now, { amount: 1n << 64n, unitSize: 0n, price: 0n })
      await mined(as(buyer).fillTrade(o.order, o.r, o.vs, huge))
      await expectRevert(as(buyer).fillTrade(o.order, o.r, o.vs, 1n), d.market, 'Overfill', [o.hash, (1n << 64n) - huge])
      expect((await d.market.orderStatus(provider.address, o.order.salt)).cancelled).toBe(false)
    })
  })

  describe('cancellation', () => {
    it('cancels one order, only by its maker, even after a partial fill', async () => {
      const o = await computeOrder(provider, d.marketDomain, now)
      await mined(as(buyer).fillCompute(o.order, o.r, o.vs, 10n))
      await expectRevert(as(buyer).cancelCompute(o.order), d.market, 'NotMaker', [o.hash])
      const r = await mined(as(provider).cancelCompute(o.order))
      expect(eventsOf(d.market, r, 'OrderCancelled')).toEqual([{ orderHash: o.hash, maker: provider.address }])
      await expectRevert(as(buyer).fillCompute(o.order, o.r, o.vs, 10n), d.market, 'OrderCancelledAlready', [o.hash])
      const t = await tradeOrder(provider, d.marketDomain, d.addresses.quote, now)
      await mined(as(provider).cancelTrade(t.order))
      await expectRevert(as(buyer).fillTrade(t.order, t.r, t.vs, 1n), d.market, 'OrderCancelledAlready', [t.hash])
    })

    it('cancels a whole nonce lane, leaving other lanes and new orders alive', async () => {
      const a = await computeOrder(provider, d.marketDomain, now, { nonceLane: 7n })
      const b = await tradeOrder(provider, d.marketDomain, d.addresses.quote, now, { nonceLane: 7n })
      const other = await computeOrder(provider, d.marketDomain, now, { nonceLane: 8n })
      const r = await mined(as(provider).cancelLane(7n))
      expect(eventsOf(d.market, r, 'LaneCancelled')).toEqual([{ maker: provider.address, lane: 7n, newNonce: 1n }])
      expect(await d.market.laneNonceOf(provider.address, 7n)).toBe(1n)
      expect(await d.market.laneNonceOf(provider.address, 8n)).toBe(0n)
      await expectRevert(as(buyer).fillCompute(a.order, a.r, a.vs, 1n), d.market, 'LaneNonceStale', [a.hash, 1n])
      await expectRevert(as(buyer).fillTrade(b.order, b.r, b.vs, 1n), d.market, 'LaneNonceStale', [b.hash, 1n])
      await mined(as(buyer).fillCompute(other.order, other.r, other.vs, 1n))
      const fresh = await computeOrder(provider, d.marketDomain, now, { nonceLane: 7n, laneNonce: 1n })
      await mined(as(buyer).fillCompute(fresh.order, fresh.r, fresh.vs, 1n))
      // a future nonce is not valid yet either
      const ahead = await computeOrder(provider, d.marketDomain, now, { nonceLane: 7n, laneNonce: 2n })
      await expectRevert(as(buyer).fillCompute(ahead.order, ahead.r, ahead.vs, 1n), d.market, 'LaneNonceStale')
    })
  })

  describe('trades', () => {
    it('settles an FTNS ask: FTNS to the taker, quote to the maker, exactly', async () => {
      const o = await tradeOrder(provider, d.marketDomain, d.addresses.quote, now)
      expect(await d.market.hashTradeOrder(o.order)).toBe(o.hash)
      const before = await balances()
      const r = await mined(as(buyer).fillTrade(o.order, o.r, o.vs, 8n))
      expect(eventsOf(d.market, r, 'TradeFilled')).toEqual([{ orderHash: o.hash, taker: buyer.address, units: 8n }])
      const after = await balances()
      expect(after.providerFtns - before.providerFtns).toBe(-E('8'))
      expect(after.buyerFtns - before.buyerFtns).toBe(E('8'))
      expect(after.providerQuote - before.providerQuote).toBe(Q('2'))
      expect(after.buyerQuote - before.buyerQuote).toBe(-Q('2'))
    })

    it('settles an FTNS bid in the other direction', async () => {
      const o = await tradeOrder(buyer, d.marketDomain, d.addresses.quote, now, { side: BID })
      const before = await balances()
      await mined(as(provider).fillTrade(o.order, o.r, o.vs, 4n))
      const after = await balances()
      expect(after.providerFtns - before.providerFtns).toBe(-E('4'))
      expect(after.buyerFtns - before.buyerFtns).toBe(E('4'))
      expect(after.providerQuote - before.providerQuote).toBe(Q('1'))
      expect(after.buyerQuote - before.buyerQuote).toBe(-Q('1'))
    })

    it('moves both tokens or neither: a taker without quote allowance leaves every balance and the order unchanged', async () => {
      const o = await tradeOrder(provider, d.marketDomain, d.addresses.quote, now)
      await mined(d.quote.connect(buyer).approve(d.addresses.market, Q('1')))
      const before = await balances()
      await expectRevert(as(buyer).fillTrade(o.order, o.r, o.vs, 8n), d.quote, 'ERC20InsufficientAllowance')
      expect(await balances()).toEqual(before)
      expect((await d.market.orderStatus(o.order.maker, o.order.salt)).filled).toBe(0n)
      // and a maker that no longer holds the FTNS it offered
      await mined(d.token.connect(provider).transfer(buyer2.address, E('100')))
      const before2 = await balances()
      await expectRevert(as(buyer2).fillTrade(o.order, o.r, o.vs, 1n), d.token, 'ERC20InsufficientBalance')
      expect(await balances()).toEqual(before2)
    })

    it('refuses FTNS itself or the zero address as the quote', async () => {
      const o = await tradeOrder(provider, d.marketDomain, d.addresses.token, now)
      await expectRevert(as(buyer).fillTrade(o.order, o.r, o.vs, 1n), d.market, 'InvalidQuote', [d.addresses.token])
      const zero = '0x0000000000000000000000000000000000000000'
      const z = await tradeOrder(provider, d.marketDomain, zero, now)
      await expectRevert(as(buyer).fillTrade(z.order, z.r, z.vs, 1n), d.market, 'InvalidQuote', [zero])
    })

    it('refuses a fill that would take an order past 2^128 - 1 units', async () => {
      const o = await tradeOrder(provider, d.marketDomain, d.addresses.quote, now, { amount: 1n << 200n, unitSize: 1n, price: 0n })
      await expectRevert(as(buyer).fillTrade(o.order, o.r, o.vs, 1n << 129n), d.market, 'Overfill', [o.hash, 1n << 200n])
    })

    it('blocks re-entry through a hostile quote token', async () => {
      const host = await deployHostileToken(d.admin)
      const hostAddress = await host.getAddress()
      await mined(host.mint(buyer.address, E('100')))
      await mined(host.connect(buyer).approve(d.addresses.market, MaxUint256))
      const o = await tradeOrder(provider, d.marketDomain, hostAddress, now)
      const again = d.market.interface.encodeFunctionData('fillTrade', [o.order, o.r, o.vs, 1n])
      await mined(host.arm(d.addresses.market, again))
      await mined(as(buyer).fillTrade(o.order, o.r, o.vs, 2n))
      expect(await host.attempts()).toBe(1n)
      expect(await host.successes()).toBe(0n)
      expect(await host.lastError()).toBe(d.market.interface.getError('ReentrancyGuardReentrantCall')?.selector)
      expect((await d.market.orderStatus(o.order.maker, o.order.salt)).filled).toBe(2n)
      expect(await host.balanceOf(provider.address)).toBe(2n * o.order.price)
    })
  })

  describe('several fills in one transaction', () => {
    it('fills compute and trade orders of several makers at once', async () => {
      const c1 = await computeOrder(provider, d.marketDomain, now)
      const c2 = await computeOrder(buyer2, d.marketDomain, now, { pricePerUnit: E('0.02') })
      const t1 = await tradeOrder(provider, d.marketDomain, d.addresses.quote, now)
      const t2 = await tradeOrder(buyer2, d.marketDomain, d.addresses.quote, now)
      const fills = [{ ...c1, units: 10n }, { ...c2, units: 5n }].map(({ order, r, vs, units }) => ({ order, r, vs, units }))
      const trades = [{ ...t1, units: 3n }, { ...t2, units: 4n }].map(({ order, r, vs, units }) => ({ order, r, vs, units }))
      const r = await mined(as(buyer).fillMany(fills, trades))
      expect(eventsOf(d.market, r, 'ComputeFilled').map(e => e.orderHash)).toEqual([c1.hash, c2.hash])
      expect(eventsOf(d.market, r, 'TradeFilled').map(e => [e.orderHash, e.units])).toEqual([[t1.hash, 3n], [t2.hash, 4n]])
      expect(await d.vault.freeBalanceOf(buyer.address)).toBe(E('100') - E('0.1') - E('0.1'))
      expect(await d.token.balanceOf(buyer.address)).toBe(E('107'))
    })

    it('reverts as a whole when one fill fails, changing nothing', async () => {
      const c1 = await computeOrder(provider, d.marketDomain, now)
      const t1 = await tradeOrder(provider, d.marketDomain, d.addresses.quote, now)
      const bad = await tradeOrder(buyer2, d.marketDomain, d.addresses.quote, now, { expiry: now - 1n })
      const before = await balances()
      await expectRevert(as(buyer).fillMany(
        [{ order: c1.order, r: c1.r, vs: c1.vs, units: 10n }],
        [{ order: t1.order, r: t1.r, vs: t1.vs, units: 1n }, { order: bad.order, r: bad.r, vs: bad.vs, units: 1n }]
      ), d.market, 'OrderExpired', [bad.hash])
      const ftnsQuoted = await tradeOrder(buyer2, d.marketDomain, d.addresses.token, now)
      await expectRevert(as(buyer).fillMany([], [{ order: ftnsQuoted.order, r: ftnsQuoted.r, vs: ftnsQuoted.vs, units: 1n }]), d.market, 'InvalidQuote')
      expect(await balances()).toEqual(before)
      expect((await d.market.orderStatus(c1.order.maker, c1.order.salt)).filled).toBe(0n)
      expect((await d.market.orderStatus(t1.order.maker, t1.order.salt)).filled).toBe(0n)
    })
  })

  it('lets exactly one of two racing takers fill the same order; the other gets a clear error and loses nothing', async () => {
    const o = await computeOrder(provider, d.marketDomain, now, { maxUnits: 50n })
    const before = [await d.vault.freeBalanceOf(buyer.address), await d.vault.freeBalanceOf(buyer2.address)]
    await anvil.rpc('evm_setAutomine', [false])
    try {
      // both transactions are sent against the same state and mined in the same block
      const tx1 = await as(buyer).fillCompute(o.order, o.r, o.vs, 50n, { gasLimit: 400_000n })
      const tx2 = await as(buyer2).fillCompute(o.order, o.r, o.vs, 50n, { gasLimit: 400_000n })
      await anvil.rpc('evm_mine')
      const receipts = await Promise.all([tx1, tx2].map(async tx => await anvil.provider.getTransactionReceipt(tx.hash)))
      const statuses = receipts.map(r => r?.status)
      expect(statuses.filter(s => s === 1)).toHaveLength(1)
      expect(statuses.filter(s => s === 0)).toHaveLength(1)
      expect(receipts[0]?.blockNumber).toBe(receipts[1]?.blockNumber)
      const winner = statuses[0] === 1 ? 0 : 1
      const loser = [buyer, buyer2][1 - winner]
      // the loser's call, replayed now, says why
      await expectRevert(as(loser).fillCompute.staticCall(o.order, o.r, o.vs, 50n), d.market, 'Overfill', [o.hash, 0n])
      const after = [await d.vault.freeBalanceOf(buyer.address), await d.vault.freeBalanceOf(buyer2.address)]
      expect(before[winner] - after[winner]).toBe(E('0.5'))
      expect(after[1 - winner]).toBe(before[1 - winner])
      expect((await d.market.orderStatus(o.order.maker, o.order.salt)).filled).toBe(50n)
    } finally {
      await anvil.rpc('evm_setAutomine', [true])
    }
  })

  async function balances (): Promise<Record<string, bigint>> {
    return {
      providerFtns: await d.token.balanceOf(provider.address),
      buyerFtns: await d.token.balanceOf(buyer.address),
      buyer2Ftns: await d.token.balanceOf(buyer2.address),
      providerQuote: await d.quote.balanceOf(provider.address),
      buyerQuote: await d.quote.balanceOf(buyer.address),
      buyer2Quote: await d.quote.balanceOf(buyer2.address),
      buyerVault: await d.vault.freeBalanceOf(buyer.address),
      providerVault: await d.vault.freeBalanceOf(provider.address)
    }
  }
})
