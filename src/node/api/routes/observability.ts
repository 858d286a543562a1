/** `/metrics` (Prometheus text) and `/v1/events` (Server-Sent Events from the node's event bus). */
import type { Registry } from 'prom-client'
import type { ApiPlugin } from '../server.js'
import type { EventBus } from '../../../common/events.js'
import { errorResponses } from '../schemas.js'

const HEARTBEAT_MS = 15_000

export function observabilityRoutes (deps: { registry: Registry, events: EventBus }): ApiPlugin {
  return (app) => {
    app.get('/metrics', {
      schema: { tags: ['observability'], summary: 'Prometheus metrics (process, libp2p, meshnode)', produces: ['text/plain'], response: { 200: { type: 'string' }, ...errorResponses } } as any
    }, async (_req, reply) => {
      void reply.type(deps.registry.contentType)
      return await deps.registry.metrics()
    })

    app.get('/v1/events', {
      schema: { tags: ['observability'], summary: 'Live node events as Server-Sent Events (`event: <type>`, `data: <json>`)', produces: ['text/event-stream'], response: { 200: { type: 'string' }, ...errorResponses } } as any
    }, async (req, reply) => {
      reply.hijack()
      const res = reply.raw
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' })
      res.write(': meshnode events\n\n')
      const unsubscribe = deps.events.subscribe(ev => {
        res.write(`event: ${ev.type}\ndata: ${JSON.stringify({ at: new Date(ev.at).toISOString(), ...ev.data })}\n\n`)
      })
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS)
      const done = (): void => { clearInterval(heartbeat); unsubscribe() }
      req.raw.on('close', done)
      res.on('error', done)
    })
  }
}
