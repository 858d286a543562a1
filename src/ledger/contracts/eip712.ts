/**
 * The EIP-712 messages of the meshnode contracts, as the contracts hash them: vouchers (CreditVault) and compute and
 * trade orders (ComputeMarket). Domains bind the chain id and the verifying contract, so a signature made for one chain
 * or one deployment does not verify on another. The contract tests check these types against the contracts' own
 * type hashes.
 */
import { AbiCoder, keccak256, Signature, TypedDataEncoder } from 'ethers'
import type { Signer, TypedDataDomain, TypedDataField } from 'ethers'

/** `side` of an order that sells (compute time, or FTNS). */
export const ASK = 0
/** `side` of an order that buys (compute time, or FTNS). */
export const BID = 1

/** A cumulative voucher: the payer owes `cumulativeAmount` in total on lock `lockId`. */
export interface Voucher {
  lockId: string
  cumulativeAmount: bigint
}

/** A compute order (see ComputeMarket.ComputeOrder); a unit is one `unitSeconds` of training. */
export interface ComputeOrder {
  maker: string
  side: number
  resourceClass: string
  pricePerUnit: bigint
  maxUnits: bigint
  minFill: bigint
  windowStart: bigint
  windowEnd: bigint
  expiry: bigint
  salt: bigint
  nonceLane: bigint
  laneNonce: bigint
}

/** An FTNS/quote trade order (see ComputeMarket.TradeOrder): `amount` lots of `unitSize` FTNS wei at `price` quote wei each. */
export interface TradeOrder {
  maker: string
  side: number
  quote: string
  unitSize: bigint
  price: bigint
  amount: bigint
  minFill: bigint
  expiry: bigint
  salt: bigint
  nonceLane: bigint
  laneNonce: bigint
}

/** An EIP-2098 compact signature, as the contracts take it, with the 65-byte form beside it. */
export interface CompactSignature {
  r: string
  vs: string
  signature: string
}

/** EIP-712 types of a voucher. */
export const VOUCHER_TYPES: Record<string, TypedDataField[]> = {
  Voucher: [
    { name: 'lockId', type: 'bytes32' },
    { name: 'cumulativeAmount', type: 'uint256' }
  ]
}

/** EIP-712 types of a compute order. */
export const COMPUTE_ORDER_TYPES: Record<string, TypedDataField[]> = {
  ComputeOrder: [
    { name: 'maker', type: 'address' },
    { name: 'side', type: 'uint8' },
    { name: 'resourceClass', type: 'bytes32' },
    { name: 'pricePerUnit', type: 'uint256' },
    { name: 'maxUnits', type: 'uint256' },
    { name: 'minFill', type: 'uint256' },
    { name: 'windowStart', type: 'uint64' },
    { name: 'windowEnd', type: 'uint64' },
    { name: 'expiry', type: 'uint64' },
    { name: 'salt', type: 'uint256' },
    { name: 'nonceLane', type: 'uint64' },
    { name: 'laneNonce', type: 'uint64' }
  ]
}

/** EIP-712 types of a trade order. */
export const TRADE_ORDER_TYPES: Record<string, TypedDataField[]> = {
  TradeOrder: [
    { name: 'maker', type: 'address' },
    { name: 'side', type: 'uint8' },
    { name: 'quote', type: 'address' },
    { name: 'unitSize', type: 'uint256' },
    { name: 'price', type: 'uint256' },
    { name: 'amount', type: 'uint256' },
    { name: 'minFill', type: 'uint256' },
    { name: 'expiry', type: 'uint64' },
    { name: 'salt', type: 'uint256' },
    { name: 'nonceLane', type: 'uint64' },
    { name: 'laneNonce', type: 'uint64' }
  ]
}

/** The voucher domain of the CreditVault at `vault` on chain `chainId`. */
export function vaultDomain (chainId: bigint, vault: string): TypedDataDomain {
  return { name: 'CreditVault', version: '1', chainId, verifyingContract: vault }
}

/** The order domain of the ComputeMarket at `market` on chain `chainId`. */
export function marketDomain (chainId: bigint, market: string): TypedDataDomain {
  return { name: 'ComputeMarket', version: '1', chainId, verifyingContract: market }
}

/** Splits a 65-byte signature into the contracts' compact (r, vs) form. */
export function compactSignature (signature: string): CompactSignature {
  const sig = Signature.from(signature)
  return { r: sig.r, vs: sig.yParityAndS, signature: sig.serialized }
}

/** The id of the vault lock of `payer` for `provider` with `salt` (what CreditVault.lockIdOf returns). */
export function lockIdOf (payer: string, provider: string, salt: bigint): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(['address', 'address', 'uint96'], [payer, provider, salt]))
}

/** The salt of the lock that a compute fill opens when `filledBefore` units of the order were already filled. */
export function computeFillSalt (orderHash: string, filledBefore: bigint): bigint {
  const h = keccak256(AbiCoder.defaultAbiCoder().encode(['bytes32', 'uint256'], [orderHash, filledBefore]))
  return BigInt(h) & ((1n << 96n) - 1n)
}

/** The digest a payer signs for `voucher`. */
export function voucherDigest (domain: TypedDataDomain, voucher: Voucher): string {
  return TypedDataEncoder.hash(domain, VOUCHER_TYPES, voucher)
}

/** The order hash (EIP-712 digest) of a compute order: what the maker signs and what the market tracks fills by. */
export function computeOrderHash (domain: TypedDataDomain, order: ComputeOrder): string {
  return TypedDataEncoder.hash(domain, COMPUTE_ORDER_TYPES, order)
}

/** The order hash (EIP-712 digest) of a trade order. */
export function tradeOrderHash (domain: TypedDataDomain, order: TradeOrder): string {
  return TypedDataEncoder.hash(domain, TRADE_ORDER_TYPES, order)
}

/** Signs a voucher as the lock's payer. */
export async function signVoucher (signer: Signer, domain: TypedDataDomain, voucher: Voucher): Promise<CompactSignature> {
  return compactSignature(await signer.signTypedData(domain, VOUCHER_TYPES, voucher))
}

/** Signs a compute order as its maker. */
export async function signComputeOrder (signer: Signer, domain: TypedDataDomain, order: ComputeOrder): Promise<CompactSignature> {
  return compactSignature(await signer.signTypedData(domain, COMPUTE_ORDER_TYPES, order))
}

/** Signs a trade order as its maker. */
export async function signTradeOrder (signer: Signer, domain: TypedDataDomain, order: TradeOrder): Promise<CompactSignature> {
  return compactSignature(await signer.signTypedData(domain, TRADE_ORDER_TYPES, order))
}
