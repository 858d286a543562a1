/**
 * EIP-712: the TypeScript message types hash exactly as the contracts do, and a signature made for one chain or one
 * deployment is refused by another (same addresses on a second chain; a second vault or market on the same chain).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keccak256, MaxUint256, parseEther, parseUnits, toUtf8Bytes, TypedDataEncoder } from 'ethers'
import {
  COMPUTE_ORDER_TYPES, computeOrderHash, deployComputeMarket, deployCreditVault, lockIdOf, signVoucher, TRADE_ORDER_TYPES,
  tradeOrderHash, VOUCHER_TYPES, voucherDigest
} from '../../src/ledger/contracts/index.js'
import { startAnvil, type Anvil } from './harness/anvil.js'
import { deployAll, expectRevert, fundInVault, type Deployment } from './harness/deploy.js'
import { computeOrder, tradeOrder } from './harness/orders.js'
import { mined } from './harness/tx.js'

describe('EIP-712 domains and replay', () => {
  let a: Anvil
  let b: Anvil
  let da: Deployment
  let db: Deployment

  beforeAll(async () => {
    // two chains, deployed identically: every contract has the same address on both
    ;[a, b] = await Promise.all([startAnvil({ chainId: 31337 }), startAnvil({ chainId: 31338 })])
    ;[da, db] = await Promise.all([deployAll(a), deployAll(b)])
    for (const d of [da, db]) {
      const [, payer, provider, taker] = d.anvil.wallets
      await fundInVault(d, payer, parseEther('10'))
      await fundInVault(d, taker, parseEther('10'))
      await mined(d.token.mint(provider.address, parseEther('10')))
      await mined(d.token.connect(provider).approve(d.addresses.market, MaxUint256))
      await mined(d.quote.mint(taker.address, parseUnits('100', 6)))
      await mined(d.quote.connect(taker).approve(d.addresses.market, MaxUint256))
    }
  })
  afterAll(async () => { await Promise.all([a?.stop(), b?.stop()]) })

  it('deploys to the same addresses on both chains (so only the chain id tells the domains apart)', () => {
    expect(db.addresses).toEqual(da.addresses)
  })

  it('hashes vouchers and orders in TypeScript exactly as the contracts do', async () => {
    expect(await da.vault.VOUCHER_TYPEHASH()).toBe(keccak256(toUtf8Bytes(TypedDataEncoder.from(VOUCHER_TYPES).encodeType('Voucher'))))
    expect(await da.market.COMPUTE_ORDER_TYPEHASH()).toBe(keccak256(toUtf8Bytes(TypedDataEncoder.from(COMPUTE_ORDER_TYPES).encodeType('ComputeOrder'))))
    expect(await da.market.TRADE_ORDER_TYPEHASH()).toBe(keccak256(toUtf8Bytes(TypedDataEncoder.from(TRADE_ORDER_TYPES).encodeType('TradeOrder'))))
    const lockId = keccak256(toUtf8Bytes('some lock'))
    expect(await da.vault.voucherDigest(lockId, 12345n)).toBe(voucherDigest(da.vaultDomain, { lockId, cumulativeAmount: 12345n }))
    const now = await a.now()
    const c = await computeOrder(a.wallets[2], da.marketDomain, now)
    expect(await da.market.hashComputeOrder(c.order)).toBe(computeOrderHash(da.marketDomain, c.order))
    const t = await tradeOrder(a.wallets[2], da.marketDomain, da.addresses.quote, now)
    expect(await da.market.hashTradeOrder(t.order)).toBe(tradeOrderHash(da.marketDomain, t.order))
    expect(await da.market.domainSeparator()).toBe(TypedDataEncoder.hashDomain(da.marketDomain))
    expect(await db.market.domainSeparator()).not.toBe(await da.market.domainSeparator())
  })

  it('refuses a voucher replayed on another chain, or on another vault of the same chain', async () => {
    const salt = 42n
    for (const d of [da, db]) {
      const [, payer, provider] = d.anvil.wallets
      await mined(d.vault.connect(payer).lock(provider.address, parseEther('5'), (await d.anvil.now()) + 3600n, salt))
    }
    const [, payer, provider] = a.wallets
    const lockId = lockIdOf(payer.address, provider.address, salt)
    const v = await signVoucher(payer, da.vaultDomain, { lockId, cumulativeAmount: parseEther('1') })
    // same lock id, same vault address, other chain
    await expectRevert(db.vault.connect(db.anvil.wallets[2]).redeem(payer.address, salt, parseEther('1'), v.r, v.vs), db.vault, 'InvalidVoucherSignature', [lockId])
    // same chain, another vault holding an identical lock
    const vault2 = await deployCreditVault(da.admin, da.addresses.token, 3600n, 86400n)
    await mined(da.token.connect(payer).approve(await vault2.getAddress(), MaxUint256))
    await mined(da.token.mint(payer.address, parseEther('5')))
    await mined(vault2.connect(payer).deposit(parseEther('5')))
    await mined(vault2.connect(payer).lock(provider.address, parseEther('5'), (await a.now()) + 3600n, salt))
    await expectRevert(vault2.connect(provider).redeem(payer.address, salt, parseEther('1'), v.r, v.vs), vault2, 'InvalidVoucherSignature', [lockId])
    // where it was signed for, it pays
    await mined(da.vault.connect(provider).redeem(payer.address, salt, parseEther('1'), v.r, v.vs))
    expect(await da.vault.freeBalanceOf(provider.address)).toBe(parseEther('1'))
    expect(await db.vault.freeBalanceOf(provider.address)).toBe(0n)
  })

  it('refuses orders replayed on another chain, or on another market of the same chain', async () => {
    const [, , provider, taker] = a.wallets
    const now = await a.now()
    const c = await computeOrder(provider, da.marketDomain, now)
    const t = await tradeOrder(provider, da.marketDomain, da.addresses.quote, now)
    const otherChainCompute = computeOrderHash(db.marketDomain, c.order)
    await expectRevert(db.market.connect(db.anvil.wallets[3]).fillCompute(c.order, c.r, c.vs, 1n), db.market, 'InvalidSignature', [otherChainCompute])
    await expectRevert(db.market.connect(db.anvil.wallets[3]).fillTrade(t.order, t.r, t.vs, 1n), db.market, 'InvalidSignature')
    const market2 = await deployComputeMarket(da.admin, da.addresses.vault, 60n, 3600n)
    await mined(da.vault.connect(taker).approveLocker(await market2.getAddress(), MaxUint256))
    await expectRevert(market2.connect(taker).fillCompute(c.order, c.r, c.vs, 1n), market2, 'InvalidSignature')
    await expectRevert(market2.connect(taker).fillTrade(t.order, t.r, t.vs, 1n), market2, 'InvalidSignature')
    await mined(da.market.connect(taker).fillCompute(c.order, c.r, c.vs, 1n))
    await mined(da.market.connect(taker).fillTrade(t.order, t.r, t.vs, 1n))
    expect((await da.market.orderStatus(c.order.maker, c.order.salt)).filled).toBe(1n)
    expect((await db.market.orderStatus(c.order.maker, c.order.salt)).filled).toBe(0n)
  })
})
