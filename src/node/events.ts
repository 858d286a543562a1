/**
 * The node's own entries of the event map (peers and hardware), and `NodeEvents`: the whole map streamed on
 * `/v1/events`, joined from the node's entries and each subsystem's (`storageEvents`, `trainingEvents`).
 */
import { Type } from '@sinclair/typebox'
import { defineEvents, type EventsOf } from '../common/events.js'
import { storageEvents } from '../storage/index.js'
import { trainingEvents } from '../training/index.js'
import { consensusEvents } from '../consensus/index.js'
import { ledgerEvents } from '../ledger/lazy.js'

const PeerId = Type.String({ description: 'peer id' })

/** Events the composition root itself emits (the peer tracker and the hardware service). */
export const nodeOwnEvents = defineEvents({
  /** A connection to a peer opened. */
  'peer.connected': Type.Object({ peerId: PeerId }),
  /** The last connection to a peer closed. */
  'peer.disconnected': Type.Object({ peerId: PeerId }),
  /** A peer's first verified hardware record arrived. */
  'hardware.record': Type.Object({ peerId: PeerId }),
  /** This node measured its training backend (and speed, unless the benchmark is off). */
  'hardware.measured': Type.Object({ backend: Type.String(), samplesPerSec: Type.Union([Type.Number(), Type.Null()]) })
})

/** The payloads of the node's own events. */
export type NodeOwnEvents = EventsOf<typeof nodeOwnEvents>

/** Every event on the node's bus, by name: what `/v1/events` streams and the OpenAPI document describes. */
export const nodeEvents = defineEvents({ ...nodeOwnEvents, ...storageEvents, ...trainingEvents, ...consensusEvents, ...ledgerEvents })

/** The payloads of every event on the node's bus. */
export type NodeEvents = EventsOf<typeof nodeEvents>
