/**
 * Builders of signed test orders for the ComputeMarket, with defaults a test overrides field by field.
 */
import { keccak256, parseEther, parseUnits, toUtf8Bytes } from 'ethers'
import type { TypedDataDomain, Wallet } from 'ethers'
import { ASK, computeOrderHash, signComputeOrder, signTradeOrder, tradeOrderHash } from '../../../src/ledger/contracts/index.js'
import type { ComputeOrder, TradeOrder } from '../../../src/ledger/contracts/index.js'

/** A signed order, ready for `fillCompute` / `fillTrade` / `fillMany`. */
export interface Signed<O> {
  order: O
  r: string
  vs: string
  hash: string
}

let salts = 0n

/** The hash of a hardware requirement, as compute orders carry it. */
export const GPU_CLASS = keccak256(toUtf8Bytes('gpu:nvidia-h200:141GiB/cpu:16/ram:128GiB'))

/** A compute ask by `maker` (100 units of 0.01 FTNS, window open for a day, expiring in an hour), signed. */
export async function computeOrder (
  maker: Wallet, domain: TypedDataDomain, now: bigint, fields: Partial<ComputeOrder> = {}
): Promise<Signed<ComputeOrder>> {
  const order: ComputeOrder = {
    maker: maker.address,
    side: ASK,
    resourceClass: GPU_CLASS,
    pricePerUnit: parseEther('0.01'),
    maxUnits: 100n,
    minFill: 1n,
    windowStart: now - 60n,
    windowEnd: now + 86400n,
    expiry: now + 3600n,
    salt: ++salts,
    nonceLane: 0n,
    laneNonce: 0n,
    ...fields
  }
  const sig = await signComputeOrder(maker, domain, order)
  return { order, r: sig.r, vs: sig.vs, hash: computeOrderHash(domain, order) }
}

/** An FTNS ask by `maker` against `quote` (100 lots of 1 FTNS at 0.25 quote units of 6 decimals), signed. */
export async function tradeOrder (
  maker: Wallet, domain: TypedDataDomain, quote: string, now: bigint, fields: Partial<TradeOrder> = {}
): Promise<Signed<TradeOrder>> {
  const order: TradeOrder = {
    maker: maker.address,
    side: ASK,
    quote,
    unitSize: parseEther('1'),
    price: parseUnits('0.25', 6),
    amount: 100n,
    minFill: 1n,
    expiry: now + 3600n,
    salt: ++salts,
    nonceLane: 0n,
    laneNonce: 0n,
    ...fields
  }
  const sig = await signTradeOrder(maker, domain, order)
  return { order, r: sig.r, vs: sig.vs, hash: tradeOrderHash(domain, order) }
}
