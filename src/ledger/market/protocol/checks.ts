/**
 * The pure checks of market records, after their schema passed: numeric bounds of the contract's integer types,
 * cross-field rules, and (for a message) the market, chain, contract, peer binding and liveness at `now`. Each returns
 * a `Checked` value carrying the contract-typed order, or a refusal with its reason. Signatures are checked by
 * `OrderVerifier` (verify.ts), funding and on-chain status by the shells.
 */
import { getAddress, ZeroAddress } from 'ethers'
import type { ComputeOrder, TradeOrder } from '../../contracts/index.js'
import { refuse, type Checked } from '../errors.js'
import { bindingSalt, toComputeOrder, toTradeOrder } from './convert.js'
import type { ComputeOrderMessage, ComputeOrderRecord, OrderMessage, TradeOrderMessage, TradeOrderRecord } from './schemas.js'
import { COMPUTE_MARKET, type MarketSpec } from './topic.js'

const UINT64_MAX = (1n << 64n) - 1n
/** The most units the contract records for one order (63 bits of a packed fill record). */
const FILL_MAX = (1n << 63n) - 1n
const UINT256_MAX = (1n << 256n) - 1n

function ok<T> (value: T): Checked<T> {
  return { ok: true, value }
}

/** Whether `a` is a valid address (mixed case must carry a valid EIP-55 checksum). */
function isAddress (a: string): boolean {
  try {
    getAddress(a)
    return true
  } catch {
    return false
  }
}

function over (v: bigint, max: bigint): boolean {
  return v > max
}

/**
 * A compute order's own rules: addresses, uint64 times and lanes, uint256 amounts, 0 < maxUnits < 2^63 (the
 * contract tracks fills in 63 bits), minFill <= maxUnits, a positive price whose total fits uint256, and a window
 * that opens before it closes.
 */
export function checkComputeOrder (r: ComputeOrderRecord): Checked<ComputeOrder> {
  if (!isAddress(r.maker)) return refuse('malformed', 'maker is not a valid address')
  const o = toComputeOrder(r)
  for (const [name, v] of [['windowStart', o.windowStart], ['windowEnd', o.windowEnd], ['expiry', o.expiry], ['nonceLane', o.nonceLane], ['laneNonce', o.laneNonce]] as const) {
    if (over(v, UINT64_MAX)) return refuse('malformed', `${name} does not fit uint64`)
  }
  if (over(o.salt, UINT256_MAX) || over(o.pricePerUnit, UINT256_MAX) || over(o.minFill, UINT256_MAX)) return refuse('malformed', 'an amount does not fit uint256')
  if (o.maxUnits === 0n || over(o.maxUnits, FILL_MAX)) return refuse('malformed', 'maxUnits must be between 1 and 2^63 - 1')
  if (o.minFill > o.maxUnits) return refuse('malformed', 'minFill exceeds maxUnits')
  if (o.pricePerUnit === 0n) return refuse('malformed', 'pricePerUnit must be positive')
  if (over(o.pricePerUnit * o.maxUnits, UINT256_MAX)) return refuse('malformed', 'pricePerUnit * maxUnits does not fit uint256')
  if (o.windowStart >= o.windowEnd) return refuse('malformed', 'windowStart must be before windowEnd')
  return ok(o)
}

/**
 * A trade order's own rules: addresses (the quote not zero), positive lot size, price and amount, minFill <= amount,
 * totals that fit uint256, amount < 2^63.
 */
export function checkTradeOrder (r: TradeOrderRecord): Checked<TradeOrder> {
  if (!isAddress(r.maker)) return refuse('malformed', 'maker is not a valid address')
  if (!isAddress(r.quote) || getAddress(r.quote) === ZeroAddress) return refuse('malformed', 'quote is not a valid token address')
  const o = toTradeOrder(r)
  for (const [name, v] of [['expiry', o.expiry], ['nonceLane', o.nonceLane], ['laneNonce', o.laneNonce]] as const) {
    if (over(v, UINT64_MAX)) return refuse('malformed', `${name} does not fit uint64`)
  }
  if (over(o.salt, UINT256_MAX) || over(o.unitSize, UINT256_MAX) || over(o.price, UINT256_MAX) || over(o.minFill, UINT256_MAX)) {
    return refuse('malformed', 'an amount does not fit uint256')
  }
  if (o.unitSize === 0n || o.price === 0n) return refuse('malformed', 'unitSize and price must be positive')
  if (o.amount === 0n || over(o.amount, FILL_MAX)) return refuse('malformed', 'amount must be between 1 and 2^63 - 1')
  if (o.minFill > o.amount) return refuse('malformed', 'minFill exceeds amount')
  if (over(o.amount * o.unitSize, UINT256_MAX) || over(o.amount * o.price, UINT256_MAX)) return refuse('malformed', 'amount * unitSize or amount * price does not fit uint256')
  return ok(o)
}

/** Where and when a message is checked: this node's market, chain and ComputeMarket, and the time in Unix seconds. */
export interface MessageContext {
  market: MarketSpec
  chainId: bigint
  contract: string
  now: bigint
}

/** A message that passed `checkOrderMessage`, with its order as the contract takes it. */
export type CheckedMessage =
  | { kind: 'compute', message: ComputeOrderMessage, order: ComputeOrder }
  | { kind: 'trade', message: TradeOrderMessage, order: TradeOrder }

/**
 * Every rule of an order message short of its signature and chain state: the order's own rules; the market it names is
 * this one and the order fits it (kind; for a trade market the quote token and lot size); the chain id and contract
 * are this node's (so a cross-chain order gets its own reason rather than a bad signature); the salt binds `peer`;
 * not expired at `now` (the contract refuses fills when `block.timestamp > expiry`); a compute window still open.
 */
export function checkOrderMessage (m: OrderMessage, ctx: MessageContext): Checked<CheckedMessage> {
  if (m.market !== ctx.market.name) return refuse('wrong-market', `order names market ${m.market}, not ${ctx.market.name}`)
  if (BigInt(m.chainId) !== ctx.chainId) return refuse('wrong-chain', `order was signed for chain ${m.chainId}, not ${ctx.chainId}`)
  if (!isAddress(m.contract) || m.contract.toLowerCase() !== ctx.contract.toLowerCase()) {
    return refuse('wrong-contract', `order was signed for market contract ${m.contract}, not ${ctx.contract}`)
  }
  let checked: CheckedMessage
  if (m.kind === 'compute') {
    if (ctx.market.kind !== 'compute') return refuse('wrong-market', `a compute order cannot trade on ${ctx.market.name}`)
    const c = checkComputeOrder(m.order)
    if (!c.ok) return c
    checked = { kind: 'compute', message: m, order: c.value }
  } else {
    if (ctx.market.kind !== 'trade') return refuse('wrong-market', `a trade order cannot trade on ${COMPUTE_MARKET}`)
    const c = checkTradeOrder(m.order)
    if (!c.ok) return c
    if (c.value.quote.toLowerCase() !== ctx.market.quote.toLowerCase()) return refuse('wrong-market', `quote ${c.value.quote} is not ${ctx.market.name}'s token`)
    if (c.value.unitSize !== ctx.market.unitSize) return refuse('wrong-market', `lot size ${c.value.unitSize} is not ${ctx.market.name}'s ${ctx.market.unitSize}`)
    checked = { kind: 'trade', message: m, order: c.value }
  }
  if (over(BigInt(m.binding), UINT256_MAX) || bindingSalt(m.peer, BigInt(m.binding)) !== checked.order.salt) {
    return refuse('bad-peer-binding', `salt does not bind peer ${m.peer}`)
  }
  if (ctx.now > checked.order.expiry) return refuse('expired', `order expired at ${checked.order.expiry}, now ${ctx.now}`)
  if (checked.kind === 'compute' && ctx.now >= checked.order.windowEnd) return refuse('window-closed', `window closed at ${checked.order.windowEnd}`)
  return ok(checked)
}
