/**
 * The market's API views (one TypeBox schema each): books with their best prices and depth, orders as the book
 * holds them (with the provider's reputation and measured speed beside each compute ask), the maker's and taker's
 * requests, fills and cancellations. Amounts are integer strings in the contract's units (FTNS wei per unit for
 * compute; quote base units per lot for trades), so nothing is lost to floating point.
 */
import { Type, type Static } from '@sinclair/typebox'
import { REFUSAL_REASONS } from '../errors.js'
import { OrderMessageSchema } from '../protocol/schemas.js'

const Uint = Type.String({ pattern: '^(0|[1-9][0-9]{0,77})$', description: 'a non-negative integer, decimal' })
const PosUint = Type.String({ pattern: '^[1-9][0-9]{0,77}$', description: 'a positive integer, decimal' })
const Hash = Type.String({ pattern: '^0x[0-9a-fA-F]{64}$' })
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T): ReturnType<typeof Type.Union<[T, ReturnType<typeof Type.Null>]>> => Type.Union([t, Type.Null()])
const Reason = Type.Union(REFUSAL_REASONS.map(r => Type.Literal(r)))
const MarketName = Type.String({ pattern: '^(compute|ftns-[a-z0-9]{1,16})$' })

/** An order in a book. */
export const OrderView = Type.Object({
  hash: Type.String(),
  market: Type.String(),
  kind: Type.Union([Type.Literal('compute'), Type.Literal('trade')]),
  side: Type.Union([Type.Literal('ask'), Type.Literal('bid')]),
  maker: Type.String(),
  peer: Type.String(),
  /** Per unit: FTNS wei per minute (compute) or quote base units per lot (trade). */
  price: Uint,
  /** Units not yet filled. */
  units: Uint,
  size: Uint,
  minFill: Uint,
  expiry: Type.Integer(),
  resourceClass: Nullable(Type.String()),
  windowStart: Type.Union([Type.Integer(), Type.Null()]),
  windowEnd: Type.Union([Type.Integer(), Type.Null()]),
  /** Compute asks: the price normalised by the provider's measured speed (FTNS wei per million reference samples). */
  pricePerMillionSamples: Nullable(Uint),
  /** Compute asks: the provider node's measured training speed and consensus reputation, where known. */
  provider: Type.Union([Type.Object({ samplesPerSec: Type.Union([Type.Number(), Type.Null()]), reputation: Type.Union([Type.String(), Type.Null()]) }), Type.Null()]),
  /** The signed order message (what gossip carries and a taker fills). */
  message: OrderMessageSchema
})
export type OrderView = Static<typeof OrderView>

/** One price level of a depth table. */
export const DepthLevelView = Type.Object({ price: Uint, units: Uint, orders: Type.Integer(), cumulative: Uint })
export type DepthLevelView = Static<typeof DepthLevelView>

/** `GET /v1/market/books/{market}`: both sides in priority order, best prices, spread, depth. */
export const BookView = Type.Object({
  market: Type.String(),
  /** Compute: the resource class asked for (null: every class merged). */
  resourceClass: Nullable(Type.String()),
  bids: Type.Array(OrderView),
  asks: Type.Array(OrderView),
  bestBid: Nullable(Uint),
  bestAsk: Nullable(Uint),
  spread: Nullable(Type.String()),
  depth: Type.Object({ bids: Type.Array(DepthLevelView), asks: Type.Array(DepthLevelView) })
})
export type BookView = Static<typeof BookView>

/** One market's summary. */
export const MarketSummaryView = Type.Object({
  market: Type.String(),
  kind: Type.Union([Type.Literal('compute'), Type.Literal('trade')]),
  quote: Nullable(Type.String()),
  symbol: Nullable(Type.String()),
  /** Decimals of the price: 18 (FTNS) for compute, the quote token's for trades. */
  priceDecimals: Type.Integer(),
  unitSize: Nullable(Uint),
  orders: Type.Integer(),
  bestBid: Nullable(Uint),
  bestAsk: Nullable(Uint),
  spread: Nullable(Type.String())
})
export type MarketSummaryView = Static<typeof MarketSummaryView>

/** `GET /v1/market/books`. */
export const BooksView = Type.Object({ markets: Type.Array(MarketSummaryView) })
export type BooksView = Static<typeof BooksView>

/** `POST /v1/market/orders`: the fields a maker chooses; the node fills in maker, salt, lane nonce and signs. */
export const PostOrderRequest = Type.Object({
  market: MarketName,
  side: Type.Union([Type.Literal('ask'), Type.Literal('bid')]),
  price: PosUint,
  units: PosUint,
  minFill: Type.Optional(Uint),
  /** Seconds from now until expiry (default 3600), unless `expiry` (Unix seconds) is given. */
  ttlSec: Type.Optional(Type.Integer({ minimum: 1, maximum: 365 * 86400 })),
  expiry: Type.Optional(Type.Integer({ minimum: 1, maximum: 2 ** 40 })),
  nonceLane: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 32 })),
  /** Compute: the hardware class (default for an ask: this node's own; required for a bid). */
  resourceClass: Type.Optional(Hash),
  windowStart: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 40 })),
  windowEnd: Type.Optional(Type.Integer({ minimum: 1, maximum: 2 ** 40 }))
}, { additionalProperties: false })
export type PostOrderRequest = Static<typeof PostOrderRequest>

/** The signed order and its hash. */
export const PostOrderResult = Type.Object({ hash: Type.String(), message: OrderMessageSchema, order: OrderView })
export type PostOrderResult = Static<typeof PostOrderResult>

/** `GET /v1/market/orders`. */
export const OrdersView = Type.Object({ owner: Type.String(), orders: Type.Array(OrderView) })
export type OrdersView = Static<typeof OrdersView>

/** `POST /v1/market/fills`: one order (`orderHash`), or the best orders of a book up to a limit price (`market`). */
export const FillRequest = Type.Object({
  orderHash: Type.Optional(Hash),
  units: PosUint,
  market: Type.Optional(MarketName),
  /** With `market`: `buy` takes asks, `sell` takes bids. */
  side: Type.Optional(Type.Union([Type.Literal('buy'), Type.Literal('sell')])),
  /** With `market`: the worst price per unit to take (default: any). */
  limitPrice: Type.Optional(PosUint),
  resourceClass: Type.Optional(Hash),
  /**
   * Compute asks only: the job the provider runs for the units bought (a training job request: `model`, `dataset`
   * such as `digits`, `rounds`, ...). The buyer's node then pays it by a voucher per metered unit.
   */
  job: Type.Optional(Type.Record(Type.String(), Type.Unknown()))
}, { additionalProperties: false })
export type FillRequest = Static<typeof FillRequest>

/** A compute job of a fill, as its buyer or its provider sees it (amounts in FTNS wei). */
export const ComputeJobView = Type.Object({
  role: Type.Union([Type.Literal('buyer'), Type.Literal('provider')]),
  lockId: Type.String(),
  fillTx: Nullable(Type.String()),
  /** The other side's peer id. */
  peer: Type.String(),
  payer: Type.String(),
  provider: Type.String(),
  units: Uint,
  price: Uint,
  /** The metered unit's length. */
  unitMs: Type.Integer(),
  state: Type.Union([Type.Literal('starting'), Type.Literal('running'), Type.Literal('done'), Type.Literal('stopped'), Type.Literal('failed')]),
  /** `complete`, `missed-vouchers`, or why it failed. */
  reason: Nullable(Type.String()),
  /** The training job on the provider. */
  jobId: Nullable(Type.String()),
  unitsRun: Type.Integer(),
  /** Vouchers signed (buyer) or accepted (provider). */
  vouchers: Type.Integer(),
  /** The highest voucher's cumulative amount. */
  covered: Uint,
  /** Paid out of the lock on chain (provider's view). */
  redeemed: Uint,
  /** Returned to the buyer at the lock's expiry (provider's view), once released. */
  refunded: Nullable(Uint)
})
export type ComputeJobView = Static<typeof ComputeJobView>

/** A fill this node made (taker) or saw on its own orders (maker). */
export const FillView = Type.Object({
  id: Type.String(),
  role: Type.Union([Type.Literal('taker'), Type.Literal('maker')]),
  market: Type.String(),
  state: Type.Union([Type.Literal('pending'), Type.Literal('done'), Type.Literal('failed')]),
  tx: Nullable(Type.String()),
  orders: Type.Array(Type.Object({ hash: Type.String(), units: Uint, price: Uint, cost: Uint })),
  units: Uint,
  cost: Uint,
  reason: Type.Union([Reason, Type.Null()]),
  message: Nullable(Type.String()),
  at: Type.String(),
  /** The compute jobs this fill started (compute fills with a job). */
  compute: Type.Optional(Type.Array(ComputeJobView))
})
export type FillView = Static<typeof FillView>

/** `GET /v1/market/fills`. */
export const FillsView = Type.Object({ fills: Type.Array(FillView) })
export type FillsView = Static<typeof FillsView>

/** `DELETE /v1/market/orders/{hash}` and `POST /v1/market/lanes/{lane}/cancel`. */
export const CancelResult = Type.Object({ hash: Nullable(Type.String()), lane: Type.Union([Type.Integer(), Type.Null()]), tx: Nullable(Type.String()), removed: Type.Integer() })
export type CancelResult = Static<typeof CancelResult>
