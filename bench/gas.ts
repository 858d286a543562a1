/**
 * Gas per ledger operation, measured on a private anvil beside a plain ERC-20 transfer from the same run, printed as
 * ONE JSON object with the targets of the ledger issue.
 * Run: npx tsx bench/gas.ts [--quick] [--help]   (--quick changes nothing: the run takes a few seconds)
 *
 * Every figure is the gasUsed of a mined transaction's receipt (21,000 base and calldata included), in steady state:
 * the accounts involved already hold balances, as in Seaport's published benchmark, so no figure carries a first-ever
 * storage write that an account pays once. Lock salts are 96 random bits, as clients pick them; order salts are
 * numbered per maker, as the market's `bindingSalt` numbers them (see `orderFigures`). A batch's per-item figure is
 * given two ways: the whole transaction divided by the item count, and the marginal cost of one more item.
 * `issueFigures` lists every figure of the issue's gas list beside the ERC-20 transfer; `targets` says which are met.
 */
import { hexlify, keccak256, MaxUint256, parseEther, parseUnits, randomBytes, toUtf8Bytes } from 'ethers'
import type { Wallet } from 'ethers'
import { ASK, BID, lockIdOf, signComputeOrder, signTradeOrder, signVoucher } from '../src/ledger/contracts/index.js'
import type { ComputeOrder, TradeOrder } from '../src/ledger/contracts/index.js'
import { startAnvil, type Anvil } from '../contracts/test/harness/anvil.js'
import { deployAll, type Deployment } from '../contracts/test/harness/deploy.js'

const USAGE = `usage: npx tsx bench/gas.ts [--quick] [--help]

Starts a private anvil on a free 127.0.0.1 port, deploys FTNSToken, CreditVault, ComputeMarket and a quote token,
and prints gas per operation as one JSON object, beside a plain ERC-20 transfer measured in the same run:
deposit, lock, one voucher redeemed alone, per voucher inside redeemMany x100, order fills (trade and compute),
per extra order in a multi-fill, cancel. Targets: <= 15k gas per voucher in a batch of 100; a signed order fill
<= 85k (Seaport's signed ERC-20 fill: 108,556); <= 45k per extra order in a multi-fill.`

const BATCH = 100
const MULTI = 10
/** Accounts that pay locks and make orders: 4 single-fill makers and 3 groups of MULTI + 1 multi-fill makers. */
const PAYERS = 4 + 3 * (MULTI + 1)
const SEAPORT_SIGNED_ERC20_FILL = 108_556

type Tx = Parameters<Anvil['exec']>[1]

interface Signed<O> { order: O, r: string, vs: string }
interface Fill<O> extends Signed<O> { units: bigint }
/** A fill figure: a new order whose fill slot the maker already uses, the first order of a new slot, their average. */
interface Figure { used: number, fresh: number, average: number }

async function main (): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(USAGE + '\n')
    return
  }
  const anvil = await startAnvil({ accounts: 3 + PAYERS })
  try {
    process.stdout.write(JSON.stringify(await measure(anvil), null, 2) + '\n')
  } finally {
    await anvil.stop()
  }
}

async function measure (anvil: Anvil): Promise<Record<string, unknown>> {
  const d = await deployAll(anvil)
  const [admin, provider, taker] = anvil.wallets
  const payers = anvil.wallets.slice(3, 3 + PAYERS)
  const gas = async (from: Wallet, tx: Tx): Promise<number> => Number((await anvil.exec(from.address, tx)).gasUsed)
  await fundEveryone(anvil, d, admin, [provider, taker, ...payers])

  const erc20Transfer = await gas(taker, d.token.transfer.populateTransaction(provider.address, parseEther('1')))
  const deposit = await gas(taker, d.vault.deposit.populateTransaction(parseEther('10')))

  // locks for the provider, one per payer in turn
  const expiry = (await anvil.now()) + 7n * 24n * 3600n
  const locks: Array<{ payer: Wallet, salt: bigint }> = []
  const lockGas: number[] = []
  for (let i = 0; i < BATCH + 1; i++) {
    const payer = payers[i % payers.length]
    const salt = BigInt(hexlify(randomBytes(12)))
    locks.push({ payer, salt })
    lockGas.push(await gas(payer, d.vault.lock.populateTransaction(provider.address, parseEther('10'), expiry, salt)))
  }
  const claim = async (i: number, amount: bigint): Promise<{ payer: string, salt: bigint, cumulativeAmount: bigint, r: string, vs: string }> => {
    const { payer, salt } = locks[i]
    const s = await signVoucher(payer, d.vaultDomain, { lockId: lockIdOf(payer.address, provider.address, salt), cumulativeAmount: amount })
    return { payer: payer.address, salt, cumulativeAmount: amount, r: s.r, vs: s.vs }
  }
  const redeem = async (c: Awaited<ReturnType<typeof claim>>): Promise<number> =>
    await gas(provider, d.vault.redeem.populateTransaction(c.payer, c.salt, c.cumulativeAmount, c.r, c.vs))
  const redeemOne = await redeem(await claim(BATCH, parseEther('1')))
  const redeemLater = await redeem(await claim(BATCH, parseEther('2')))

  // redeemMany: 1 voucher, then 99 more, each the first voucher of a distinct lock
  const claims = []
  for (let i = 0; i < BATCH; i++) claims.push(await claim(i, parseEther('1.5')))
  const many1 = await gas(provider, d.vault.redeemMany.populateTransaction(claims.slice(0, 1)))
  const many99 = await gas(provider, d.vault.redeemMany.populateTransaction(claims.slice(1)))
  const perVoucherMarginal = (many99 - many1) / (BATCH - 2)
  const batchOf100 = many1 + (BATCH - 1) * perVoucherMarginal // one transaction of 100, from the two measured

  const orders = await orderFigures(anvil, d, payers, taker, provider, gas)

  const requestWithdrawal = await gas(taker, d.vault.requestWithdrawal.populateTransaction(parseEther('1')))
  await anvil.warp(3601)
  const completeWithdrawal = await gas(taker, d.vault.completeWithdrawal.populateTransaction())
  await anvil.warp(8 * 24 * 3600)
  const release = await gas(locks[0].payer, d.vault.release.populateTransaction(locks[0].payer.address, provider.address, locks[0].salt))

  const { hardFork } = await anvil.rpc<{ hardFork: string }>('anvil_nodeInfo')
  const x = (g: number): number => Number((g / erc20Transfer).toFixed(2))
  const perVoucher = Math.round(batchOf100 / BATCH)
  const lock = lockGas[lockGas.length - 1]
  const row = (g: number, note?: string): Record<string, unknown> => ({ gas: g, xTransfer: x(g), ...(note !== undefined ? { note } : {}) })
  const target = (max: number, f: Figure): Record<string, unknown> => ({
    max,
    value: f.average,
    met: f.average <= max,
    usedSlot: f.used,
    freshSlot: f.fresh,
    metEvenOnFreshSlot: f.fresh <= max,
    judgedOn: 'the average over the four orders of one fill slot (one fresh, three in the used slot)'
  })
  const ops = orders.operations as { cancel: { trade: number } }
  return {
    bench: 'gas',
    unit: 'gas per transaction (receipt gasUsed: 21,000 base and calldata included)',
    chain: { node: 'anvil', hardfork: hardFork },
    baseline: { erc20Transfer, note: 'FTNS transfer between two accounts that both hold FTNS, same anvil run' },
    issueFigures: {
      erc20Transfer: row(erc20Transfer, 'the baseline'),
      deposit: row(deposit),
      lock: row(lock),
      redeemOneVoucher: row(redeemOne),
      redeemManyPerVoucher: row(perVoucher, `whole batch of ${BATCH} / ${BATCH}`),
      orderFill: row(orders.tradeFill.average, 'signed FTNS-for-quote fill, average over a fill slot'),
      multiFillPerExtraOrder: row(orders.tradeExtra.average, 'distinct makers, average over a fill slot'),
      cancel: row(ops.cancel.trade, 'one trade order, in a used fill slot')
    },
    operations: {
      deposit: { gas: deposit, xTransfer: x(deposit) },
      lock: { gas: lock, xTransfer: x(lock) },
      redeemOneVoucher: { gas: redeemOne, xTransfer: x(redeemOne), laterVoucherSameLock: redeemLater },
      redeemMany: {
        batch: BATCH,
        gasPerVoucher: perVoucher,
        marginalPerVoucher: Math.round(perVoucherMarginal),
        wholeBatch: Math.round(batchOf100),
        note: `${BATCH} distinct locks from ${payers.length} payers, the first voucher of each`
      },
      ...orders.operations,
      withdrawal: { request: requestWithdrawal, complete: completeWithdrawal },
      releaseExpiredLock: release
    },
    targets: {
      redeemManyPerVoucher: { max: 15_000, value: perVoucher, met: perVoucher <= 15_000 },
      orderFill: {
        ...target(85_000, orders.tradeFill),
        measuredOn: 'tradeFill (the signed ERC-20 fill Seaport\'s figure is for)',
        seaportSignedErc20Fill: SEAPORT_SIGNED_ERC20_FILL,
        vsSeaport: Number((orders.tradeFill.average / SEAPORT_SIGNED_ERC20_FILL).toFixed(3))
      },
      multiFillPerExtraOrder: { ...target(45_000, orders.tradeExtra), measuredOn: 'trade orders of distinct makers' }
    }
  }
}

/**
 * Fills, multi-fills and cancels of trade and compute orders. The market keeps four orders' fill records in one slot
 * (per maker, salt / 4), so a maker numbering its orders (as `bindingSalt` does with consecutive nonces) pays for a
 * fresh slot on the first fill of one order in four; the others write into its already-used slot. Every maker here
 * has traded before (one earlier order, salt 4g, filled), as in the steady state; figures are given for an order that
 * shares that slot (`gas`), for the first order of a new slot (`freshSlot`), and averaged over a slot's four orders.
 */
async function orderFigures (
  anvil: Anvil, d: Deployment, makers: Wallet[], taker: Wallet, provider: Wallet, gas: (from: Wallet, tx: Tx) => Promise<number>
): Promise<{ operations: Record<string, unknown>, tradeFill: Figure, tradeExtra: Figure }> {
  const now = await anvil.now()
  const base = new Map<string, bigint>() // each maker's slot group g: salts 4g .. 4g + 3, then 4g + 4 is a fresh slot
  const saltOf = (maker: Wallet, i: bigint): bigint => {
    if (!base.has(maker.address)) base.set(maker.address, BigInt(hexlify(randomBytes(8))) << 2n)
    return (base.get(maker.address) ?? 0n) + i
  }
  const trade = async (maker: Wallet, side: number, i: bigint): Promise<Signed<TradeOrder>> => {
    const order: TradeOrder = {
      maker: maker.address, side, quote: d.addresses.quote, unitSize: parseEther('1'), price: parseUnits('0.25', 6),
      amount: 100n, minFill: 1n, expiry: now + 3600n, salt: saltOf(maker, i), nonceLane: 0n, laneNonce: 0n
    }
    return { order, ...(await signTradeOrder(maker, d.marketDomain, order)) }
  }
  const compute = async (maker: Wallet, side: number, i: bigint): Promise<Signed<ComputeOrder>> => {
    const order: ComputeOrder = {
      maker: maker.address, side, resourceClass: keccak256(toUtf8Bytes('gpu:h200:141GiB')), pricePerUnit: parseEther('0.01'),
      maxUnits: 600n, minFill: 1n, windowStart: now - 60n, windowEnd: now + 86400n, expiry: now + 3600n,
      salt: saltOf(maker, i), nonceLane: 0n, laneNonce: 0n
    }
    return { order, ...(await signComputeOrder(maker, d.marketDomain, order)) }
  }
  const strip = <O>(s: Signed<O>, units: bigint): Fill<O> => ({ order: s.order, r: s.r, vs: s.vs, units })
  const m = d.market
  const fillTrade = async (s: Signed<TradeOrder>, from = taker): Promise<number> => await gas(from, m.fillTrade.populateTransaction(s.order, s.r, s.vs, 10n))
  const fillCompute = async (s: Signed<ComputeOrder>, from: Wallet): Promise<number> => await gas(from, m.fillCompute.populateTransaction(s.order, s.r, s.vs, 30n))

  // the steady state: every maker's earlier order (salt 4g) was filled
  const active = makers.slice(0, 4 + 3 * (MULTI + 1))
  for (const maker of active) await fillTrade(await trade(maker, ASK, 0n))

  const t = await trade(makers[0], ASK, 1n)
  const tradeFill = await fillTrade(t)
  const tradeFillAgain = await fillTrade(t)
  const tradeFillFresh = await fillTrade(await trade(makers[0], ASK, 4n))
  const tradeFillBid = await fillTrade(await trade(makers[1], BID, 1n))
  const computeFill = await fillCompute(await compute(makers[2], ASK, 1n), taker)
  const computeFillFresh = await fillCompute(await compute(makers[2], ASK, 4n), taker)
  const computeFillBid = await fillCompute(await compute(makers[3], BID, 1n), provider)

  // fillMany: 1 order, then MULTI more, each from a distinct maker (in a used slot, or each the first of a new one);
  // and MULTI + 1 orders of one maker with consecutive salts
  const group = (k: number): Wallet[] => active.slice(4 + k * (MULTI + 1), 4 + (k + 1) * (MULTI + 1))
  const distinctTrades: Array<Fill<TradeOrder>> = []
  const distinctTradesFresh: Array<Fill<TradeOrder>> = []
  const distinctComputes: Array<Fill<ComputeOrder>> = []
  const oneMaker: Array<Fill<TradeOrder>> = []
  for (const [i, maker] of group(0).entries()) {
    distinctTrades.push(strip(await trade(maker, ASK, 1n), 10n))
    distinctComputes.push(strip(await compute(group(1)[i], ASK, 1n), 30n))
    distinctTradesFresh.push(strip(await trade(group(2)[i], ASK, 4n), 10n))
    oneMaker.push(strip(await trade(makers[0], ASK, 8n + BigInt(i)), 10n))
  }
  const extra = async (fills: (one: boolean) => Tx): Promise<number> => {
    const one = await gas(taker, fills(true))
    const many = await gas(taker, fills(false))
    return Math.round((many - one) / (MULTI - 1))
  }
  const tradeExtra = await extra(one => m.fillMany.populateTransaction([], one ? distinctTrades.slice(0, 1) : distinctTrades.slice(1)))
  const tradeExtraFresh = await extra(one => m.fillMany.populateTransaction([], one ? distinctTradesFresh.slice(0, 1) : distinctTradesFresh.slice(1)))
  const computeExtra = await extra(one => m.fillMany.populateTransaction(one ? distinctComputes.slice(0, 1) : distinctComputes.slice(1), []))
  const sameMakerExtra = await extra(one => m.fillMany.populateTransaction([], one ? oneMaker.slice(0, 1) : oneMaker.slice(1)))

  const cancelTrade = await gas(makers[0], m.cancelTrade.populateTransaction((await trade(makers[0], BID, 2n)).order))
  const cancelCompute = await gas(makers[0], m.cancelCompute.populateTransaction((await compute(makers[0], BID, 3n)).order))
  const cancelFresh = await gas(makers[0], m.cancelTrade.populateTransaction((await trade(makers[0], BID, 100n)).order))
  const cancelLane = await gas(makers[0], m.cancelLane.populateTransaction(0n))
  const cancelLaneAgain = await gas(makers[0], m.cancelLane.populateTransaction(0n))

  const perSlot = (used: number, fresh: number): number => Math.round((fresh + 3 * used) / 4)
  return {
    tradeFill: { used: tradeFill, fresh: tradeFillFresh, average: perSlot(tradeFill, tradeFillFresh) },
    tradeExtra: { used: tradeExtra, fresh: tradeExtraFresh, average: perSlot(tradeExtra, tradeExtraFresh) },
    operations: {
      tradeFill: {
        gas: tradeFill,
        freshSlot: tradeFillFresh,
        averageOverSlot: perSlot(tradeFill, tradeFillFresh),
        bidSide: tradeFillBid,
        laterFillSameOrder: tradeFillAgain,
        note: 'first (partial) fill of a signed FTNS-for-quote order: its fill record, both ERC-20 transfers'
      },
      computeFill: {
        gas: computeFill,
        freshSlot: computeFillFresh,
        averageOverSlot: perSlot(computeFill, computeFillFresh),
        bidSide: computeFillBid,
        note: 'first fill of a signed compute order: its fill record and a new vault lock'
      },
      multiFillPerExtraOrder: {
        trade: tradeExtra,
        tradeFreshSlots: tradeExtraFresh,
        tradeAverageOverSlot: perSlot(tradeExtra, tradeExtraFresh),
        tradeSameMaker: sameMakerExtra,
        compute: computeExtra,
        orders: MULTI,
        note: 'marginal gas of one more order in fillMany (distinct makers unless said; same maker: consecutive salts)'
      },
      cancel: { trade: cancelTrade, compute: cancelCompute, freshSlot: cancelFresh, lane: cancelLane, laneAgain: cancelLaneAgain }
    }
  }
}

/** Gives every account FTNS and quote tokens, approvals for vault and market, and a vault balance. */
async function fundEveryone (anvil: Anvil, d: Deployment, admin: Wallet, accounts: Wallet[]): Promise<void> {
  const { token, vault, quote, addresses } = d
  for (const who of accounts) {
    await anvil.exec(admin.address, token.mint.populateTransaction(who.address, parseEther('1000000')))
    await anvil.exec(admin.address, quote.mint.populateTransaction(who.address, parseUnits('1000000', 6)))
    await anvil.exec(who.address, token.approve.populateTransaction(addresses.vault, MaxUint256))
    await anvil.exec(who.address, token.approve.populateTransaction(addresses.market, MaxUint256))
    await anvil.exec(who.address, quote.approve.populateTransaction(addresses.market, MaxUint256))
    await anvil.exec(who.address, vault.deposit.populateTransaction(parseEther('1000')))
    await anvil.exec(who.address, vault.approveLocker.populateTransaction(addresses.market, MaxUint256))
  }
}

await main()
