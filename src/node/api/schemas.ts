/**
 * Shared JSON schemas for the admin API (TypeBox, so request validation, response serialisation and the OpenAPI
 * document all come from one definition).
 */
import { Type, FormatRegistry } from '@sinclair/typebox'
import { HardwareRecordSchema } from '../../protocols/hardware/record.js'

// TypeBox checks (tests, clients) need the formats the schemas use; fastify's ajv knows them already
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', v => !Number.isNaN(Date.parse(v)) && /^\d{4}-\d\d-\d\dT/.test(v))

/** Every 4xx/5xx body. */
export const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() })
}, { description: 'An error' })

/** Standard error responses to attach to a route's `response` map. */
export const errorResponses = {
  400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody
}

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

export const PeerView = Type.Object({
  peerId: Type.String(),
  addresses: Type.Array(Type.String()),
  latencyMs: Type.Union([Type.Number(), Type.Null()]),
  lastSeen: Type.String({ format: 'date-time' }),
  hardware: Type.Union([Type.String(), Type.Null()], { description: 'one-line hardware summary, null until a record arrived' })
})

export const HardwareRecordView = HardwareRecordSchema

export const PeerHardwareView = Type.Object({
  peerId: Type.String(),
  seq: Type.Number(),
  receivedAt: Type.String({ format: 'date-time' }),
  record: HardwareRecordSchema
})
