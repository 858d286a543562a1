/**
 * The admin HTTP API: fastify with JSON-schema validation, bearer-token auth on every route but health, a Host
 * header allow-list (DNS rebinding), body limits, one error renderer (`{ error: { code, message } }`, 4xx for client
 * mistakes) and an OpenAPI 3.1 document generated from the same route schemas.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import swagger from '@fastify/swagger'
import { ApiError, renderError } from './errors.js'
import type { Logger } from '../../common/logger.js'
import { tokenMatches } from './auth.js'
import { ErrorBody } from './schemas.js'

/** A route module: a fastify plugin function registered on the API server. */
export type ApiPlugin = (app: FastifyInstance) => Promise<void> | void

/** What the admin API server needs: where to listen, the token, limits and a logger. */
export interface ApiServerInit {
  host: string
  port: number
  token: string
  /** Host header values accepted besides loopback names (port-agnostic). */
  allowedHosts: string[]
  bodyLimitBytes: number
  version: string
  logger: Logger
  /** Counts requests by route and status class. */
  onResponse?: (route: string, statusCode: number) => void
}

/** A listening admin API server. */
export interface ApiServer {
  app: FastifyInstance
  url: string
  port: number
  close: () => Promise<void>
}

/** Routes reachable without a token. */
const PUBLIC_ROUTES = new Set(['/v1/health'])
const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]', '::1']

function hostAllowed (hostHeader: string | undefined, allowed: Set<string>): boolean {
  if (hostHeader == null || hostHeader === '') return false
  // strip the port; IPv6 literals keep their brackets
  const name = hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.split(':')[0]
  return allowed.has(name.toLowerCase())
}

/** Build the fastify app with every plugin registered, without listening (tests use `inject`). */
export async function buildApiApp (init: ApiServerInit, plugins: ApiPlugin[]): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: init.bodyLimitBytes,
    // reject unknown and surplus query/body fields instead of silently dropping them
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
    return503OnClosing: true,
    forceCloseConnections: true
  })
  // JSON only, unless a route module registers its own parser (artifacts take raw octet streams)
  app.removeContentTypeParser('text/plain')
  const allowed = new Set([...LOOPBACK_HOSTS, ...init.allowedHosts.map(h => h.toLowerCase())])

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'meshnode admin API', version: init.version, description: 'Local administration of a meshnode daemon. Every route except /v1/health needs `Authorization: Bearer <token>` from `<data-dir>/admin.token`.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }]
    }
  })

  app.addHook('onRequest', async (req) => {
    if (!hostAllowed(req.headers.host, allowed)) throw new ApiError('ERR_HOST', 'Host header not allowed')
    const path = req.url.split('?')[0]
    if (PUBLIC_ROUTES.has(path)) return
    const auth = req.headers.authorization
    const token = auth?.startsWith('Bearer ') === true ? auth.slice(7).trim() : ''
    if (!tokenMatches(token, init.token)) throw new ApiError('ERR_UNAUTHORIZED', 'missing or invalid bearer token')
  })
  if (init.onResponse != null) {
    const onResponse = init.onResponse
    app.addHook('onResponse', async (req, reply) => { onResponse(req.routeOptions.url ?? 'unmatched', reply.statusCode) })
  }

  app.setErrorHandler((err, _req, reply) => {
    const { status, code, message, internal } = renderError(err)
    if (internal) init.logger.error({ err }, 'admin API request failed')
    void reply.status(status).type('application/json').send({ error: { code, message } })
  })
  // an unknown route is an error like any other: thrown, so the error handler above renders it
  app.setNotFoundHandler(async (req) => {
    throw new ApiError('ERR_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`)
  })

  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  app.addSchema({ $id: 'ErrorBody', ...ErrorBody })

  for (const plugin of plugins) await app.register(async (scope) => { await plugin(scope) })
  await app.ready()
  return app
}

/** Build, listen, and report the URL actually bound (`port: 0` picks a free one). */
export async function startApiServer (init: ApiServerInit, plugins: ApiPlugin[]): Promise<ApiServer> {
  const app = await buildApiApp(init, plugins)
  await app.listen({ host: init.host, port: init.port })
  const addr = app.server.address()
  const port = typeof addr === 'object' && addr != null ? addr.port : init.port
  const hostForUrl = init.host.includes(':') ? `[${init.host}]` : init.host
  return { app, port, url: `http://${hostForUrl}:${port}`, close: async () => { await app.close() } }
}
