/**
 * Shared JSON schemas for the admin API (TypeBox, so request validation, response serialisation and the OpenAPI
 * document all come from one definition).
 */
import { Type, FormatRegistry, KindGuard, type TSchema } from '@sinclair/typebox'
import type { EventSchemas } from '../../common/events.js'
import { HardwareRecordSchema } from '../hardware/record.js'

// TypeBox checks (tests, clients) need the formats the schemas use; fastify's ajv knows them already
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', v => !Number.isNaN(Date.parse(v)) && /^\d{4}-\d\d-\d\dT/.test(v))

/** Every 4xx/5xx body. */
export const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() })
}, { description: 'An error' })

/**
 * Standard error responses to attach to a route's `response` map: the common ones by status, and every other 4xx
 * (405, 409, 413, 414, 415, 422, 429) as the `4XX` range, so the document names a schema for every status we send.
 */
export const errorResponses = {
  400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, '4xx': ErrorBody
}

/** `/v1/node`: who this node is. */
export const NodeInfo = Type.Object({
  peerId: Type.String(),
  addresses: Type.Array(Type.String()),
  version: Type.String(),
  profile: Type.String(),
  network: Type.String(),
  uptimeSec: Type.Number(),
  startedAt: Type.String({ format: 'date-time' }),
  peers: Type.Integer()
})

/** One connected peer in `/v1/peers`. */
export const PeerView = Type.Object({
  peerId: Type.String(),
  addresses: Type.Array(Type.String()),
  latencyMs: Type.Union([Type.Number(), Type.Null()]),
  lastSeen: Type.String({ format: 'date-time' }),
  hardware: Type.Union([Type.String(), Type.Null()], { description: 'one-line hardware summary, null until a record arrived' }),
  gossipScore: Type.Union([Type.Number(), Type.Null()], { description: 'this node\'s gossipsub score of the peer (penalties, reputation, topic behaviour); below 0 the peer is being muted' })
})

/** `/v1/hardware`: the hardware record itself (one schema for the wire and the API). */
export const HardwareRecordView = HardwareRecordSchema

/** One verified peer record in `/v1/hardware/peers`. */
export const PeerHardwareView = Type.Object({
  peerId: Type.String(),
  seq: Type.Number(),
  receivedAt: Type.String({ format: 'date-time' }),
  record: HardwareRecordSchema
})

/**
 * One schema per event of an event map, as `/v1/events` sends it: the SSE `event:` field is the event's name and its
 * `data:` line the JSON of `{ at, ...payload }`. The OpenAPI document lists them as a `oneOf` discriminated by `event`.
 */
export function eventStreamSchema (events: EventSchemas): TSchema {
  const At = Type.Object({ at: Type.String({ format: 'date-time', description: 'when the event happened' }) })
  const frames = Object.entries(events).map(([name, payload]) => Type.Object({
    event: Type.Literal(name),
    data: KindGuard.IsObject(payload) ? Type.Composite([At, payload]) : At
  }, { title: name }))
  const description = 'One Server-Sent Event: `event: <name>`, then `data: <json>`.'
  return frames.length === 0 ? Type.String({ description }) : Type.Unsafe({ oneOf: frames, description })
}
