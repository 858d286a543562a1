/**
 * Order messages on the wire: CBOR encoding with a size cap, the one validator a gossip handler, the sync stream and
 * the API all call (schema, rules, market, chain, binding, liveness, signature), and the maker's side (build and sign).
 */
import { decode, encode } from 'cborg'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Signature } from 'ethers'
import type { Signer } from 'ethers'
import { marketDomain, signComputeOrder, signTradeOrder } from '../../contracts/index.js'
import { refuse, type Checked } from '../errors.js'
import { checkOrderMessage, type CheckedMessage, type MessageContext } from './checks.js'
import { bindingSalt, fromComputeOrder, fromTradeOrder, toComputeOrder, toTradeOrder } from './convert.js'
import {
  ComputeOrderMessageSchema, MAX_ORDER_MESSAGE_BYTES, ORDER_MESSAGE_VERSION, TradeOrderMessageSchema,
  type ComputeOrderMessage, type ComputeOrderRecord, type OrderMessage, type TradeOrderMessage, type TradeOrderRecord
} from './schemas.js'
import type { MarketName } from './topic.js'
import type { OrderVerifier } from './verify.js'

// one compiled check per kind, so an error names the bad field rather than "expected union value"
const computeCheck = TypeCompiler.Compile(ComputeOrderMessageSchema)
const tradeCheck = TypeCompiler.Compile(TradeOrderMessageSchema)

/** A message that passed every check, with its order hash. */
export type ValidOrder = CheckedMessage & { hash: string }

/** The CBOR bytes of an order message. */
export function encodeOrderMessage (m: OrderMessage): Uint8Array {
  return encode(m)
}

/** Checks a decoded value against the message schema (`malformed` naming the first bad path). */
export function parseOrderMessage (value: unknown): Checked<OrderMessage> {
  const kind: unknown = typeof value === 'object' && value !== null ? Reflect.get(value, 'kind') : undefined
  if (kind !== 'compute' && kind !== 'trade') return refuse('malformed', 'order message invalid at /kind: expected compute or trade')
  if (kind === 'compute' && computeCheck.Check(value)) return { ok: true, value }
  if (kind === 'trade' && tradeCheck.Check(value)) return { ok: true, value }
  const first = (kind === 'compute' ? computeCheck : tradeCheck).Errors(value).First()
  return refuse('malformed', `order message invalid at ${first?.path ?? '/'}: ${first?.message ?? 'schema mismatch'}`)
}

/** Decodes order message bytes: size cap, CBOR, schema. */
export function decodeOrderMessage (bytes: Uint8Array): Checked<OrderMessage> {
  if (bytes.byteLength > MAX_ORDER_MESSAGE_BYTES) return refuse('malformed', `order message of ${bytes.byteLength} bytes exceeds ${MAX_ORDER_MESSAGE_BYTES}`)
  let value: unknown
  try {
    value = decode(bytes)
  } catch {
    return refuse('malformed', 'order message is not valid CBOR')
  }
  return parseOrderMessage(value)
}

/** Validation context: the market, chain, contract, time, and the (caching) signature verifier. */
export interface ValidateContext extends MessageContext {
  verifier: OrderVerifier
}

/**
 * Every stateless check of an order message, cheap ones first and the signature last: the result is the order's hash
 * and its contract-typed form, or a refusal. (Cancelled, filled and funded are chain state: the shell checks those.)
 */
export function validateOrderMessage (m: OrderMessage, ctx: ValidateContext): Checked<ValidOrder> {
  const checked = checkOrderMessage(m, ctx)
  if (!checked.ok) return checked
  const c = checked.value
  const sig = c.kind === 'compute'
    ? ctx.verifier.verify({ kind: 'compute', order: c.order, signature: m.signature })
    : ctx.verifier.verify({ kind: 'trade', order: c.order, signature: m.signature })
  if (!sig.ok) return sig
  return { ok: true, value: { ...c, hash: sig.value } }
}

/** Decodes and validates order message bytes (what a gossip validator calls). */
export function validateOrderBytes (bytes: Uint8Array, ctx: ValidateContext): Checked<ValidOrder> {
  const m = decodeOrderMessage(bytes)
  return m.ok ? validateOrderMessage(m.value, ctx) : m
}

/** Where a maker signs: its node, the market, and the chain and contract of the EIP-712 domain. */
export interface SigningContext {
  market: MarketName
  chainId: bigint
  contract: string
  peer: string
}

/** Compute order fields a maker chooses (the maker is the signer and the salt binds the peer). */
export type ComputeOrderFields = Omit<ComputeOrderRecord, 'maker' | 'salt'>
/** Trade order fields a maker chooses. */
export type TradeOrderFields = Omit<TradeOrderRecord, 'maker' | 'salt'>

function header (ctx: SigningContext, binding: bigint): Omit<ComputeOrderMessage, 'kind' | 'order' | 'signature'> {
  return { v: ORDER_MESSAGE_VERSION, market: ctx.market, chainId: ctx.chainId.toString(), contract: ctx.contract, peer: ctx.peer, binding: binding.toString() }
}

/** Builds and signs a compute order message; `binding` is a fresh random nonce (it makes the salt unique). */
export async function signComputeMessage (signer: Signer, ctx: SigningContext, fields: ComputeOrderFields, binding: bigint): Promise<ComputeOrderMessage> {
  const order = toComputeOrder({ ...fields, maker: await signer.getAddress(), salt: bindingSalt(ctx.peer, binding).toString() })
  const sig = await signComputeOrder(signer, marketDomain(ctx.chainId, ctx.contract), order)
  return { ...header(ctx, binding), kind: 'compute', order: fromComputeOrder(order), signature: Signature.from(sig.signature).compactSerialized }
}

/** Builds and signs a trade order message. */
export async function signTradeMessage (signer: Signer, ctx: SigningContext, fields: TradeOrderFields, binding: bigint): Promise<TradeOrderMessage> {
  const order = toTradeOrder({ ...fields, maker: await signer.getAddress(), salt: bindingSalt(ctx.peer, binding).toString() })
  const sig = await signTradeOrder(signer, marketDomain(ctx.chainId, ctx.contract), order)
  return { ...header(ctx, binding), kind: 'trade', order: fromTradeOrder(order), signature: Signature.from(sig.signature).compactSerialized }
}
