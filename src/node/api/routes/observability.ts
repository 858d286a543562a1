/** `/metrics` (Prometheus text) and `/v1/events` (Server-Sent Events from the node's event bus). */
import type { Registry } from 'prom-client'
import type { FastifySchema } from 'fastify'
import type { ApiPlugin } from '../server.js'
import type { EventSchemas, EventSource } from '../../../common/events.js'
import { ApiError } from '../errors.js'
import { ErrorBody, errorResponses, eventStreamSchema } from '../schemas.js'

const HEARTBEAT_MS = 15_000

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

    app.get('/v1/events', { schema: eventsSchema }, async (_req, reply) => {
      if (streams >= maxStreams) throw new ApiError('ERR_BUSY', `${maxStreams} event streams are open already (api.maxEventStreams)`)
      streams++
      reply.hijack()
      const res = reply.raw
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' })
      res.write(': meshnode events\n\n')
      // the events of one tick leave in one write (a QC's votes are a dozen events at once): corked until the next tick
      let corked = false
      const unsubscribe = deps.events.subscribe(ev => {
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
