/** `/metrics` (Prometheus text) and `/v1/events` (Server-Sent Events from the node's event bus). */
import type { Registry } from 'prom-client'
import type { FastifySchema } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import type { ApiPlugin } from '../server.js'
import type { EventSchemas, EventSource } from '../../../common/events.js'
import { ApiError } from '../errors.js'
import { ErrorBody, errorResponses, eventStreamSchema } from '../schemas.js'

const HEARTBEAT_MS = 15_000

const EventsQuery = Type.Object({
  types: Type.Optional(Type.String({
    pattern: '^[A-Za-z0-9_.*-]+(,[A-Za-z0-9_.*-]+)*$',
    description: 'Only these event types, comma-separated; `proposal.*` names every type under a prefix (default: all)'
  }))
}, { additionalProperties: false })

/**
 * Which event types a `types` query keeps: exact names and `prefix.*`. A name that `known` (the bus's event map)
 * lacks is an error (a typo would otherwise stream nothing, silently); without a map every name is taken as given.
 */
export function eventTypeFilter (types: string | undefined, known?: readonly string[]): (type: string) => boolean {
  if (types == null) return () => true
  const exact = new Set<string>()
  const prefixes: string[] = []
  for (const t of types.split(',')) {
    const prefix = t.endsWith('.*') ? t.slice(0, -1) : undefined
    if (t.includes('*') && (prefix == null || prefix.includes('*'))) throw new ApiError('ERR_VALIDATION', `event type pattern ${t} may end in .* and hold no other *`)
    if (known != null && !known.some(k => prefix != null ? k.startsWith(prefix) : k === t)) throw new ApiError('ERR_VALIDATION', `no event type ${prefix != null ? 'starts with ' + prefix : 'is named ' + t}`)
    if (prefix != null) prefixes.push(prefix); else exact.add(t)
  }
  return type => exact.has(type) || prefixes.some(p => type.startsWith(p))
}

/** What the observability routes read: the metrics registry, the event bus and its event map (for the document). */
export interface ObservabilityRouteDeps<E> {
  registry: Pick<Registry, 'contentType' | 'metrics'>
  events: EventSource<E>
  /** The bus's event map: each event's payload schema, published in the OpenAPI document (absent: undocumented). */
  eventSchemas?: EventSchemas
  /** Concurrent event streams; one more is refused with 429 ERR_BUSY (default 16). */
  maxEventStreams?: number
}

/** The observability route group. */
export function observabilityRoutes<E> (deps: ObservabilityRouteDeps<E>): ApiPlugin {
  const metricsSchema: FastifySchema = {
    tags: ['observability'],
    summary: 'Prometheus metrics (process, libp2p, meshnode)',
    produces: ['text/plain'],
    response: { 200: { type: 'string' }, ...errorResponses }
  }
  const eventsSchema: FastifySchema = {
    tags: ['observability'],
    summary: 'Live node events as Server-Sent Events (`event: <type>`, `data: <json>`)',
    produces: ['text/event-stream'],
    querystring: EventsQuery,
    response: {
      200: { description: 'An endless event stream', content: { 'text/event-stream': { schema: eventStreamSchema(deps.eventSchemas ?? {}) } } },
      ...errorResponses,
      429: { ...ErrorBody, description: 'api.maxEventStreams streams are open already (ERR_BUSY)' }
    }
  }
  const maxStreams = deps.maxEventStreams ?? 16
  let streams = 0
  return (app) => {
    app.get('/metrics', { schema: metricsSchema }, async (_req, reply) => {
      void reply.type(deps.registry.contentType)
      return await deps.registry.metrics()
    })

    app.get<{ Querystring: Static<typeof EventsQuery> }>('/v1/events', { schema: eventsSchema }, async (req, reply) => {
      const wanted = eventTypeFilter(req.query.types, deps.eventSchemas != null ? Object.keys(deps.eventSchemas) : undefined)
      if (streams >= maxStreams) throw new ApiError('ERR_BUSY', `${maxStreams} event streams are open already (api.maxEventStreams)`)
      streams++
      reply.hijack()
      const res = reply.raw
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' })
      res.write(': meshnode events\n\n')
      // the events of one tick leave in one write (a QC's votes are a dozen events at once): corked until the next tick
      let corked = false
      const unsubscribe = deps.events.subscribe(ev => {
        if (!wanted(ev.type)) return
        if (!corked) { corked = true; res.cork(); process.nextTick(() => { corked = false; res.uncork() }) }
        res.write(`event: ${ev.type}\ndata: ${JSON.stringify({ at: new Date(ev.at).toISOString(), ...ev.data })}\n\n`)
      })
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS)
      let closed = false
      const done = (): void => {
        if (closed) return
        closed = true
        streams--
        clearInterval(heartbeat)
        unsubscribe()
      }
      // the response closes when the client goes away (or the server closes the connection)
      res.on('close', done)
      res.on('error', done)
    })
  }
}
