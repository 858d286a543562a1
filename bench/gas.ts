/**
 * Gas per ledger operation, measured on a private anvil beside a plain ERC-20 transfer from the same run, printed as
 * ONE JSON object with the targets of the ledger issue.
 * Run: npx tsx bench/gas.ts [--quick] [--help]   (--quick changes nothing: the run takes a few seconds)
 *
 * Every figure is the gasUsed of a mined transaction's receipt (21,000 base and calldata included), in steady state:
 * the accounts involved already hold balances, as in Seaport's published benchmark, so no figure carries a first-ever
 * storage write that an account pays once. Salts are 96 random bits, as clients pick them. A batch's per-item figure
 * is given two ways: the whole transaction divided by the item count, and the marginal cost of one more item.
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
const SEAPORT_SIGNED_ERC20_FILL = 108_556

type Tx = Parameters<Anvil['exec']>[1]

interface Signed<O> { order: O, r: string, vs: string }
interface Fill<O> extends Signed<O> { units: bigint }

async function main (): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(USAGE + '\n')
    return
  }
  const anvil = await startAnvil({ accounts: 40 })
  try {
    process.stdout.write(JSON.stringify(await measure(anvil), null, 2) + '\n')
  } finally {
    await anvil.stop()
  }
}

async function measure (anvil: Anvil): Promise<Record<string, unknown>> {
  const d = await deployAll(anvil)
  const [admin, provider, taker] = anvil.wallets
  const payers = anvil.wallets.slice(3, 3 + 30)
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
  return {
    bench: 'gas',
    unit: 'gas per transaction (receipt gasUsed: 21,000 base and calldata included)',
    chain: { node: 'anvil', hardfork: hardFork },
    baseline: { erc20Transfer, note: 'FTNS transfer between two accounts that both hold FTNS, same anvil run' },
    operations: {
      deposit: { gas: deposit, xTransfer: x(deposit) },
      lock: { gas: lockGas[lockGas.length - 1], xTransfer: x(lockGas[lockGas.length - 1]) },
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
        max: 85_000,
        value: orders.tradeFill,
        met: orders.tradeFill <= 85_000,
        measuredOn: 'tradeFill (the signed ERC-20 fill Seaport\'s figure is for)',
        seaportSignedErc20Fill: SEAPORT_SIGNED_ERC20_FILL,
        vsSeaport: Number((orders.tradeFill / SEAPORT_SIGNED_ERC20_FILL).toFixed(3))
      },
      multiFillPerExtraOrder: {
        max: 45_000,
        value: orders.tradeExtra,
        met: orders.tradeExtra <= 45_000,
        measuredOn: 'trade orders of distinct makers'
      }
    }
  }
}

/** Fills, multi-fills and cancels of trade and compute orders. */
async function orderFigures (
  anvil: Anvil, d: Deployment, makers: Wallet[], taker: Wallet, provider: Wallet, gas: (from: Wallet, tx: Tx) => Promise<number>
): Promise<{ operations: Record<string, unknown>, tradeFill: number, tradeExtra: number }> {
  const now = await anvil.now()
  const trade = async (maker: Wallet, side: number): Promise<Signed<TradeOrder>> => {
    const order: TradeOrder = {
      maker: maker.address, side, quote: d.addresses.quote, unitSize: parseEther('1'), price: parseUnits('0.25', 6),
      amount: 100n, minFill: 1n, expiry: now + 3600n, salt: BigInt(hexlify(randomBytes(8))), nonceLane: 0n, laneNonce: 0n
    }
    return { order, ...(await signTradeOrder(maker, d.marketDomain, order)) }
  }
  const compute = async (maker: Wallet, side: number): Promise<Signed<ComputeOrder>> => {
    const order: ComputeOrder = {
      maker: maker.address, side, resourceClass: keccak256(toUtf8Bytes('gpu:h200:141GiB')), pricePerUnit: parseEther('0.01'),
      maxUnits: 600n, minFill: 1n, windowStart: now - 60n, windowEnd: now + 86400n, expiry: now + 3600n,
      salt: BigInt(hexlify(randomBytes(8))), nonceLane: 0n, laneNonce: 0n
    }
    return { order, ...(await signComputeOrder(maker, d.marketDomain, order)) }
  }
  const strip = <O>(s: Signed<O>, units: bigint): Fill<O> => ({ order: s.order, r: s.r, vs: s.vs, units })
  const m = d.market

  const t = await trade(makers[0], ASK)
  const tradeFill = await gas(taker, m.fillTrade.populateTransaction(t.order, t.r, t.vs, 10n))
  const tradeFillAgain = await gas(taker, m.fillTrade.populateTransaction(t.order, t.r, t.vs, 10n))
  const tb = await trade(makers[1], BID)
  const tradeFillBid = await gas(taker, m.fillTrade.populateTransaction(tb.order, tb.r, tb.vs, 10n))
  const c = await compute(makers[2], ASK)
  const computeFill = await gas(taker, m.fillCompute.populateTransaction(c.order, c.r, c.vs, 30n))
  const cb = await compute(makers[3], BID)
  const computeFillBid = await gas(provider, m.fillCompute.populateTransaction(cb.order, cb.r, cb.vs, 30n))

  // fillMany: 1 order, then MULTI more, each from a distinct maker; and MULTI more from one maker
  const distinctTrades: Array<Fill<TradeOrder>> = []
  const distinctComputes: Array<Fill<ComputeOrder>> = []
  const oneMaker: Array<Fill<TradeOrder>> = []
  for (let i = 0; i < MULTI + 1; i++) {
    distinctTrades.push(strip(await trade(makers[4 + i], ASK), 10n))
    distinctComputes.push(strip(await compute(makers[4 + i], ASK), 30n))
    oneMaker.push(strip(await trade(makers[4 + MULTI + 1], ASK), 10n))
  }
  const extra = async (fills: (one: boolean) => Tx): Promise<number> => {
    const one = await gas(taker, fills(true))
    const many = await gas(taker, fills(false))
    return Math.round((many - one) / (MULTI - 1))
  }
  const tradeExtra = await extra(one => m.fillMany.populateTransaction([], one ? distinctTrades.slice(0, 1) : distinctTrades.slice(1)))
  const computeExtra = await extra(one => m.fillMany.populateTransaction(one ? distinctComputes.slice(0, 1) : distinctComputes.slice(1), []))
  const sameMakerExtra = await extra(one => m.fillMany.populateTransaction([], one ? oneMaker.slice(0, 1) : oneMaker.slice(1)))

  const ct = await trade(makers[0], BID)
  const cancelTrade = await gas(makers[0], m.cancelTrade.populateTransaction(ct.order))
  const cc = await compute(makers[0], BID)
  const cancelCompute = await gas(makers[0], m.cancelCompute.populateTransaction(cc.order))
  const cancelLane = await gas(makers[0], m.cancelLane.populateTransaction(0n))
  const cancelLaneAgain = await gas(makers[0], m.cancelLane.populateTransaction(0n))

  return {
    tradeFill,
    tradeExtra,
    operations: {
      tradeFill: {
        gas: tradeFill,
        bidSide: tradeFillBid,
        laterFillSameOrder: tradeFillAgain,
        note: 'first (partial) fill of a signed FTNS-for-quote order: new fill record, both ERC-20 transfers'
      },
      computeFill: { gas: computeFill, bidSide: computeFillBid, note: 'first fill of a signed compute order: new fill record and a new vault lock' },
      multiFillPerExtraOrder: {
        trade: tradeExtra,
        tradeSameMaker: sameMakerExtra,
        compute: computeExtra,
        orders: MULTI,
        note: 'marginal gas of one more order in fillMany (distinct makers unless said)'
      },
      cancel: { trade: cancelTrade, compute: cancelCompute, lane: cancelLane, laneAgain: cancelLaneAgain }
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
