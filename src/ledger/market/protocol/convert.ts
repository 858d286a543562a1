/**
 * The one mapping between the market's records (decimal strings, `ask`/`bid`: JSON and CBOR friendly) and the
 * contract bindings' orders (bigints, side 0/1: what `ComputeMarket` hashes and fills). The field lists are those of
 * the EIP-712 types in src/ledger/contracts; unit tests check the two stay equal.
 */
import { solidityPackedKeccak256 } from 'ethers'
import { ASK, BID } from '../../contracts/index.js'
import type { ComputeOrder, TradeOrder } from '../../contracts/index.js'
import type { ComputeOrderRecord, Side, TradeOrderRecord } from './schemas.js'

/** The contract's side number of a record side. */
export function sideNumber (side: Side): number {
  return side === 'ask' ? ASK : BID
}

/** The record side of a contract side number (anything but ASK is a bid; the checks refuse other numbers first). */
export function sideName (side: number): Side {
  return side === ASK ? 'ask' : 'bid'
}

/** A compute order record as the contract bindings take it. */
export function toComputeOrder (r: ComputeOrderRecord): ComputeOrder {
  return {
    maker: r.maker,
    side: sideNumber(r.side),
    resourceClass: r.resourceClass,
    pricePerUnit: BigInt(r.pricePerUnit),
    maxUnits: BigInt(r.maxUnits),
    minFill: BigInt(r.minFill),
    windowStart: BigInt(r.windowStart),
    windowEnd: BigInt(r.windowEnd),
    expiry: BigInt(r.expiry),
    salt: BigInt(r.salt),
    nonceLane: BigInt(r.nonceLane),
    laneNonce: BigInt(r.laneNonce)
  }
}

/** A contract compute order as a record. */
export function fromComputeOrder (o: ComputeOrder): ComputeOrderRecord {
  return {
    maker: o.maker,
    side: sideName(o.side),
    resourceClass: o.resourceClass,
    pricePerUnit: o.pricePerUnit.toString(),
    maxUnits: o.maxUnits.toString(),
    minFill: o.minFill.toString(),
    windowStart: o.windowStart.toString(),
    windowEnd: o.windowEnd.toString(),
    expiry: o.expiry.toString(),
    salt: o.salt.toString(),
    nonceLane: o.nonceLane.toString(),
    laneNonce: o.laneNonce.toString()
  }
}

/** A trade order record as the contract bindings take it. */
export function toTradeOrder (r: TradeOrderRecord): TradeOrder {
  return {
    maker: r.maker,
    side: sideNumber(r.side),
    quote: r.quote,
    unitSize: BigInt(r.unitSize),
    price: BigInt(r.price),
    amount: BigInt(r.amount),
    minFill: BigInt(r.minFill),
    expiry: BigInt(r.expiry),
    salt: BigInt(r.salt),
    nonceLane: BigInt(r.nonceLane),
    laneNonce: BigInt(r.laneNonce)
  }
}

/** A contract trade order as a record. */
export function fromTradeOrder (o: TradeOrder): TradeOrderRecord {
  return {
    maker: o.maker,
    side: sideName(o.side),
    quote: o.quote,
    unitSize: o.unitSize.toString(),
    price: o.price.toString(),
    amount: o.amount.toString(),
    minFill: o.minFill.toString(),
    expiry: o.expiry.toString(),
    salt: o.salt.toString(),
    nonceLane: o.nonceLane.toString(),
    laneNonce: o.laneNonce.toString()
  }
}

/** Domain tag of the peer binding hash. */
const BINDING_TAG = 'meshnode/market-peer/1'

/**
 * The salt that binds an order to the peer that announces it: keccak256(tag, peer id, nonce / 4) with its two low bits
 * replaced by nonce % 4. The maker's wallet signs the salt, so nobody can re-announce the order as coming from another
 * node (a buyer's job goes to the provider's node, and a provider's results to the buyer's). The tag and the
 * fixed-width nonce keep the packing unambiguous. The contract keeps four orders' fill records in one storage slot
 * (salts equal but for their two low bits), so a maker numbering its orders' nonces 0, 1, 2, ... pays for a fresh
 * slot (~17k gas on the first fill) once per four orders; distinct nonces still give distinct salts.
 */
export function bindingSalt (peer: string, nonce: bigint): bigint {
  const group = BigInt(solidityPackedKeccak256(['string', 'string', 'uint256'], [BINDING_TAG, peer, nonce >> 2n]))
  return (group & ~3n) | (nonce & 3n)
}
