/** The node's `api` option section: schema and defaults, composed by src/node/options.ts. */
import { Type, type Static } from '@sinclair/typebox'

/** The admin API's options. */
export const ApiOptionsSchema = Type.Object({
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  /** Binding anything but loopback exposes the admin API: it must be asked for explicitly. */
  allowRemote: Type.Boolean(),
  /** Extra Host header values accepted besides loopback names (DNS-rebinding guard). */
  allowedHosts: Type.Array(Type.String()),
  bodyLimitBytes: Type.Integer({ minimum: 1024 }),
  /** Concurrent `/v1/events` subscribers; one more is refused with 429 (each holds a connection and a bus listener). */
  maxEventStreams: Type.Integer({ minimum: 1, maximum: 10_000 })
}, { additionalProperties: false })

/** The admin API's options. */
export type ApiOptions = Static<typeof ApiOptionsSchema>

/** Defaults of the admin API's options: loopback only, a fixed port, 1 MiB bodies, 16 event streams. */
export const defaultApiOptions: ApiOptions = { host: '127.0.0.1', port: 7401, allowRemote: false, allowedHosts: [], bodyLimitBytes: 1024 * 1024, maxEventStreams: 16 }
