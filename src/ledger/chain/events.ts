/** The chain client's entries of the node's event map (`/v1/events`). */
import { Type } from '@sinclair/typebox'
import { defineEvents, type EventsOf } from '../../common/events.js'

const IntentState = Type.Union([Type.Literal('prepared'), Type.Literal('sent'), Type.Literal('mined'), Type.Literal('done'), Type.Literal('failed')])

/** The chain events and their payload schemas. */
export const chainEvents = defineEvents({
  /** A settlement intent changed state (persisted first, then emitted). */
  'ledger.intent': Type.Object({
    id: Type.String(),
    kind: Type.String(),
    state: IntentState,
    nonce: Type.Integer(),
    txHash: Type.Optional(Type.String()),
    doneBy: Type.Optional(Type.Union([Type.Literal('receipt'), Type.Literal('proof')])),
    error: Type.Optional(Type.String())
  }),
  /** A stuck transaction was replaced with bumped fees (same nonce). */
  'ledger.tx-replaced': Type.Object({
    id: Type.String(),
    nonce: Type.Integer(),
    oldHash: Type.String(),
    newHash: Type.String(),
    maxFeePerGas: Type.String({ description: 'wei' }),
    maxPriorityFeePerGas: Type.String({ description: 'wei' })
  }),
  /** Finality lags more than the network's limit (raised once when it starts, and again with `lagging: false` when it ends). */
  'ledger.finality-lag': Type.Object({
    chainId: Type.String(),
    lagging: Type.Boolean(),
    lagSeconds: Type.Number(),
    latest: Type.Integer(),
    finalized: Type.Union([Type.Integer(), Type.Null()])
  }),
  /** The RPC failover moved to another URL (the URL itself is not reported: it may hold an API key). */
  'ledger.rpc-failover': Type.Object({ from: Type.Integer(), to: Type.Integer(), reason: Type.String() }),
  /** The indexer found a reorg and rolled back its entries from `fromBlock`. */
  'ledger.reorg': Type.Object({ fromBlock: Type.Integer(), depth: Type.Integer(), removed: Type.Integer() })
})

/** The chain events' payload types (what `EventSink<ChainEvents>` accepts). */
export type ChainEvents = EventsOf<typeof chainEvents>
