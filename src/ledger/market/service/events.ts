/** The market's entries of the node's event map (`/v1/events`): every refusal carries its machine-readable reason. */
import { Type } from '@sinclair/typebox'
import { defineEvents, type EventsOf } from '../../../common/events.js'
import { REFUSAL_REASONS } from '../errors.js'
import { ComputeJobView } from './views.js'

const Reason = Type.Union(REFUSAL_REASONS.map(r => Type.Literal(r)), { description: 'a refusal reason (REFUSALS)' })
const Hash = Type.String({ description: 'order hash' })

/** The market events and their payload schemas. */
export const marketEvents = defineEvents({
  /** An order entered this node's book (gossip, sync, or posted here). */
  'market.order-accepted': Type.Object({ market: Type.String(), hash: Hash, side: Type.String(), maker: Type.String(), via: Type.String() }),
  /** An order was refused (gossip, sync or the API), with its reason. */
  'market.order-refused': Type.Object({ market: Type.String(), hash: Type.Union([Hash, Type.Null()]), reason: Reason, message: Type.String(), via: Type.String(), from: Type.Union([Type.String(), Type.Null()]) }),
  /** An order left the book: expired, filled, cancelled, lane-stale, unfunded. */
  'market.order-removed': Type.Object({ market: Type.String(), hash: Hash, reason: Reason }),
  /** A fill of an order was seen on chain (anyone's). */
  'market.filled': Type.Object({ market: Type.String(), hash: Hash, units: Type.String(), taker: Type.String(), tx: Type.String() }),
  /** A fill this node made settled, or failed with its reason. */
  'market.fill': Type.Object({ id: Type.String(), state: Type.String(), tx: Type.Union([Type.String(), Type.Null()]), reason: Type.Union([Reason, Type.Null()]), message: Type.Union([Type.String(), Type.Null()]) }),
  /** A compute job of a fill changed: started, a voucher, over (done / stopped), refunded. */
  'market.compute': ComputeJobView
})

/** The market events' payload types. */
export type MarketEvents = EventsOf<typeof marketEvents>
