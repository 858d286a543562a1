/**
 * One TypeBox schema per market record: compute orders, trade orders, the gossip message that carries a signed order,
 * and the hardware requirement a compute order's resource class hashes. Integers the contracts take as uint64/uint256
 * travel as decimal strings (JSON numbers and CBOR integers cannot hold them); `checks.ts` holds the numeric bounds
 * and cross-field rules. The order fields are exactly the EIP-712 fields of `ComputeMarket` (`COMPUTE_ORDER_TYPES`,
 * `TRADE_ORDER_TYPES` in src/ledger/contracts): the unit tests compare the two lists, and `convert.ts` is the one
 * mapping between them.
 */
import { Type, type Static } from '@sinclair/typebox'

/** The envelope version every order message is sent with. */
export const ORDER_MESSAGE_VERSION = 1
/** An order message is a few hundred bytes; anything near this cap is abuse. */
export const MAX_ORDER_MESSAGE_BYTES = 2048

/** A non-negative integer as a decimal string without leading zeros (at most 78 digits: uint256). */
export const UintStringSchema = Type.String({ pattern: '^(0|[1-9][0-9]{0,77})$', description: 'a non-negative integer, decimal' })
/** An EVM address, hex (mixed case must carry a valid EIP-55 checksum: the checks verify it). */
export const AddressSchema = Type.String({ pattern: '^0x[0-9a-fA-F]{40}$', description: 'an EVM address' })
/** 32 bytes, hex. */
export const Bytes32Schema = Type.String({ pattern: '^0x[0-9a-fA-F]{64}$', description: '32 bytes, hex' })
/** An EIP-2098 compact signature (r, vs), 64 bytes hex; the 65-byte form is accepted too. */
export const OrderSignatureSchema = Type.String({ pattern: '^0x([0-9a-fA-F]{128}|[0-9a-fA-F]{130})$', description: 'an ECDSA signature, hex' })
/** A libp2p peer id string. */
export const PeerIdSchema = Type.String({ minLength: 1, maxLength: 128, pattern: '^[1-9A-HJ-NP-Za-km-z]+$' })
/** A market name: `compute`, or `ftns-<quote symbol>` (lower case). */
export const MarketNameSchema = Type.String({ pattern: '^(compute|ftns-[a-z0-9]{1,16})$', description: 'compute or ftns-<quote symbol>' })
/** `ask` sells (compute time, or FTNS); `bid` buys. */
export const SideSchema = Type.Union([Type.Literal('ask'), Type.Literal('bid')])
export type Side = Static<typeof SideSchema>

/** A compute order: units of `unitSeconds` (one minute) of training on hardware of `resourceClass`. */
export const ComputeOrderRecordSchema = Type.Object({
  /** The signer: the provider of an ask, the buyer (payer) of a bid. */
  maker: AddressSchema,
  side: SideSchema,
  /** `resourceClassOf(requirement)`: the hash of the hardware requirement. */
  resourceClass: Bytes32Schema,
  /** FTNS wei per unit (one minute). */
  pricePerUnit: UintStringSchema,
  maxUnits: UintStringSchema,
  /** The smallest fill in units (a smaller rest can still be taken whole). */
  minFill: UintStringSchema,
  /** Unix seconds: the first second a fill may start. */
  windowStart: UintStringSchema,
  /** Unix seconds: a fill's units must run out by then. */
  windowEnd: UintStringSchema,
  /** Unix seconds: the last second the order can be filled. */
  expiry: UintStringSchema,
  /** Binds the announcing peer (`bindingSalt`); also makes equal orders distinct. */
  salt: UintStringSchema,
  nonceLane: UintStringSchema,
  laneNonce: UintStringSchema
}, { additionalProperties: false })
export type ComputeOrderRecord = Static<typeof ComputeOrderRecordSchema>

/** A trade order: `amount` lots of `unitSize` FTNS wei at `price` quote-token wei per lot. */
export const TradeOrderRecordSchema = Type.Object({
  maker: AddressSchema,
  /** `ask` sells FTNS for the quote token, `bid` buys FTNS. */
  side: SideSchema,
  quote: AddressSchema,
  unitSize: UintStringSchema,
  price: UintStringSchema,
  amount: UintStringSchema,
  minFill: UintStringSchema,
  expiry: UintStringSchema,
  salt: UintStringSchema,
  nonceLane: UintStringSchema,
  laneNonce: UintStringSchema
}, { additionalProperties: false })
export type TradeOrderRecord = Static<typeof TradeOrderRecordSchema>

const messageFields = {
  v: Type.Literal(ORDER_MESSAGE_VERSION),
  market: MarketNameSchema,
  /** The chain id and ComputeMarket the order was signed for (the EIP-712 domain): named so a mismatch has a reason. */
  chainId: UintStringSchema,
  contract: AddressSchema,
  /** The maker's node; `order.salt` must equal `bindingSalt(peer, binding)`. */
  peer: PeerIdSchema,
  binding: UintStringSchema,
  signature: OrderSignatureSchema
}

/** A signed compute order as gossiped on `meshnode/market/compute/1`, served by sync and returned by the API. */
export const ComputeOrderMessageSchema = Type.Object({
  ...messageFields,
  kind: Type.Literal('compute'),
  order: ComputeOrderRecordSchema
}, { additionalProperties: false })
export type ComputeOrderMessage = Static<typeof ComputeOrderMessageSchema>

/** A signed trade order as gossiped on `meshnode/market/ftns-<quote>/1`. */
export const TradeOrderMessageSchema = Type.Object({
  ...messageFields,
  kind: Type.Literal('trade'),
  order: TradeOrderRecordSchema
}, { additionalProperties: false })
export type TradeOrderMessage = Static<typeof TradeOrderMessageSchema>

/** Any signed order message. */
export const OrderMessageSchema = Type.Union([ComputeOrderMessageSchema, TradeOrderMessageSchema])
export type OrderMessage = Static<typeof OrderMessageSchema>

/** The hardware a compute order asks for (bid) or offers (ask); its hash is the order's `resourceClass`. */
export const HardwareRequirementSchema = Type.Object({
  /** Null: CPU only. */
  gpu: Type.Union([Type.Null(), Type.Object({
    /** e.g. `nvidia-h200`; normalised (lower case, dashes) before hashing. */
    model: Type.String({ minLength: 1, maxLength: 64 }),
    memoryGiB: Type.Integer({ minimum: 1, maximum: 65536 }),
    count: Type.Integer({ minimum: 1, maximum: 16 })
  }, { additionalProperties: false })]),
  cpuCores: Type.Integer({ minimum: 1, maximum: 4096 }),
  ramGiB: Type.Integer({ minimum: 1, maximum: 1 << 20 }),
  board: Type.Union([Type.Literal('generic'), Type.Literal('jetson'), Type.Literal('raspberry-pi')])
}, { additionalProperties: false })
export type HardwareRequirement = Static<typeof HardwareRequirementSchema>
