/**
 * The admin HTTP API: fastify with JSON-schema validation, bearer-token auth on every route but health, a strict
 * Host header allow-list (DNS rebinding), body limits, one error renderer (`{ error: { code, message } }`, 4xx for
 * client mistakes) and an OpenAPI 3.1 document generated from the same route schemas.
 *
 * The Host and token checks run first for every request: in the onRequest hook for routed requests (unknown routes
 * too), and in `frameworkErrors` for the requests the router refuses before any hook (an undecodable URL, a path
 * parameter over `maxParamLength`). Bodies are validated without type coercion (`"5"` is not 5); query strings and
 * path parameters, which are text by nature, are coerced to their schema's types.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http'
import { createRequire } from 'node:module'
import type { Duplex } from 'node:stream'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify'
import swagger from '@fastify/swagger'
import AjvCompiler from '@fastify/ajv-compiler'
import { ApiError, renderError } from './errors.js'
import type { Logger } from '../../common/logger.js'
import { tokenChecker, type RequestAuthenticator } from './auth.js'
import { hostAllowed, normalizeHostName } from './host.js'
import { ErrorBody } from './schemas.js'

/**
 * A route module: a fastify plugin function registered on the API server. One may carry `auth`, a second way in
 * besides the token (the dashboard's session cookie) with the paths it serves without credentials.
 */
export type ApiPlugin = ((app: FastifyInstance) => Promise<void> | void) & { auth?: RequestAuthenticator }

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
const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]']
/** Longest path parameter the router matches; longer ones are refused (414) after the auth and Host checks. */
export const MAX_PARAM_LENGTH = 1024
/** A client gets this long to send its request headers (a slow-header connection is closed after it). */
export const HEADERS_TIMEOUT_MS = 10_000
/** Charsets a text or JSON body may declare: we read bodies as UTF-8 (ASCII is a subset). */
const CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii'])
const CHARSET_PARAM = /;\s*charset\s*=\s*"?([^";\s]*)"?/i
const AJV_OPTIONS = { removeAdditional: false, coerceTypes: 'array', allErrors: false } as const

/** The request gate: Host header, then token, then the body's declared charset. Throws an ApiError. */
function requestGate (init: ApiServerInit, others: RequestAuthenticator[] = []): (raw: IncomingMessage) => void {
  const allowed = new Set([...LOOPBACK_HOSTS, ...init.allowedHosts.map(normalizeHostName)])
  const tokenOk = tokenChecker(init.token)
  // without a valid token, the first other authenticator that recognises the request decides
  const otherWay = (raw: IncomingMessage): { ok: boolean, reason?: string } => {
    for (const a of others) {
      const v = a.verify(raw)
      if (v.ok || v.reason !== undefined) return v
    }
    return { ok: false }
  }
  return (raw) => {
    if (!hostAllowed(raw.rawHeaders, allowed)) throw new ApiError('ERR_HOST', 'Host header not allowed')
    const url = raw.url ?? '/'
    const q = url.indexOf('?')
    const path = q < 0 ? url : url.slice(0, q)
    if (!PUBLIC_ROUTES.has(path) && !others.some(a => a.isPublic(path))) {
      const auth = raw.headers.authorization
      const token = auth?.startsWith('Bearer ') === true ? auth.slice(7).trim() : ''
      if (!tokenOk(token)) {
        const v = otherWay(raw)
        if (!v.ok) throw new ApiError('ERR_UNAUTHORIZED', v.reason ?? 'missing or invalid bearer token')
      }
    }
    const type = raw.headers['content-type']
    if (type !== undefined) {
      const charset = CHARSET_PARAM.exec(type)?.[1].toLowerCase()
      if (charset !== undefined && !CHARSETS.has(charset)) throw new ApiError('ERR_UNSUPPORTED_MEDIA_TYPE', `charset ${charset} is not supported: send UTF-8`)
    }
  }
}

/**
 * Schemas compile on their route's first request, not at start-up: compiling every route's validators (ajv) and
 * response serializers (fast-json-stringify, GET and HEAD each) was most of the API's start-up CPU, and it delayed the
 * "listening" line of a node joining a busy mesh; most routes of a node are never called. Each app keeps the compile
 * steps it has not run, so `compileAllSchemas(app)` (tests) still fails on a schema ajv or fast-json-stringify rejects.
 */
type Pending = Array<() => unknown>
const pendingOf = new WeakMap<FastifyInstance, Pending>()

/** A validate function as fastify uses it: called with the data, failures read from its `errors` afterwards. */
type LazyValidate = ((data: unknown) => boolean | Promise<unknown>) & { errors?: ReturnType<ReturnType<AjvCompiler.BuildCompilerFromPool>>['errors'] }
type LazyValidatorFactory = (...args: Parameters<AjvCompiler.BuildCompilerFromPool>) => (route: Parameters<ReturnType<AjvCompiler.BuildCompilerFromPool>>[0]) => LazyValidate

/** Validators: bodies without type coercion, query strings and path parameters with it; compiled on first use. */
const lazyValidators = (pending: Pending): LazyValidatorFactory => {
  // one pool per app, as fastify's default: an ajv instance per (external schemas, options), not one per plugin scope
  const coercingPool = AjvCompiler()
  const strictPool = AjvCompiler()
  return (externalSchemas, options) => {
    const coercing = (): ReturnType<AjvCompiler.BuildCompilerFromPool> => coercingPool(externalSchemas, options)
    const strict = (): ReturnType<AjvCompiler.BuildCompilerFromPool> => strictPool(externalSchemas, { plugins: options?.plugins, onCreate: options?.onCreate, customOptions: { ...AJV_OPTIONS, coerceTypes: false } })
    // fastify hands the compiler its route definition ({ schema, httpPart, ... }), which the typings call a schema
    return route => {
      const compiler = typeof route === 'object' && route.httpPart === 'body' ? strict : coercing
      let fn: ReturnType<ReturnType<typeof compiler>> | undefined
      const get = (): ReturnType<ReturnType<typeof compiler>> => (fn ??= compiler()(route))
      pending.push(get)
      const validate: LazyValidate = (data) => {
        const v = get()
        const r = v(data)
        validate.errors = v.errors
        return r
      }
      return validate
    }
  }
}

type SerializerFactory = NonNullable<NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildSerializer']>
/** fastify's own default serializer factory (its dependency, loaded from where fastify resolves it). */
function defaultSerializers (): SerializerFactory {
  const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'))
  const mod = fromFastify('@fastify/fast-json-stringify-compiler') as { SerializerSelector: () => SerializerFactory }
  return mod.SerializerSelector()
}

/** Response serializers (fast-json-stringify), compiled on first use. */
const lazySerializers = (pending: Pending): SerializerFactory => (externalSchemas, options) => {
  let compiler: ReturnType<SerializerFactory> | undefined
  return route => {
    let fn: ReturnType<ReturnType<SerializerFactory>> | undefined
    const get = (): ReturnType<ReturnType<SerializerFactory>> => (fn ??= (compiler ??= defaultSerializers()(externalSchemas, options))(route))
    pending.push(get)
    return (data: unknown) => get()(data)
  }
}

/** Compile every route schema of `app` not compiled yet; returns how many. A schema that cannot compile throws here. */
export function compileAllSchemas (app: FastifyInstance): number {
  const pending = pendingOf.get(app) ?? []
  const all = pending.splice(0)
  for (const get of all) get()
  return all.length
}

/** How many route schemas of `app` are not compiled yet. */
export function pendingSchemas (app: FastifyInstance): number {
  return pendingOf.get(app)?.length ?? 0
}

/**
 * Compile the schemas still pending in the background, one per turn of the event loop (I/O and timers run between
 * two), starting `delayMs` after the call: the node has listened by then, and a route's first request no longer pays
 * for its compile. Stops with `signal` (the server closing). A schema that fails stays pending: `compileAllSchemas`
 * and the route's first request still throw it.
 */
export function warmSchemas (app: FastifyInstance, opts: { delayMs?: number, signal?: AbortSignal } = {}): void {
  const pending = pendingOf.get(app)
  if (pending == null) return
  const step = (): void => {
    if (opts.signal?.aborted === true) return
    const get = pending.shift()
    if (get === undefined) return
    try {
      get()
    } catch {
      pending.unshift(get)
      return
    }
    // not unref'd: an unref'd immediate waits for the loop's next wake-up, and the chain ends with the list anyway
    setImmediate(step)
  }
  setTimeout(step, opts.delayMs ?? 0).unref()
}

/** The methods declared for each route pattern, to answer 405 with `Allow` for a known path and an undeclared method. */
class MethodTable {
  private readonly routes = new Map<string, { re: RegExp, methods: Set<string> }>()

  add (url: string, method: string | string[]): void {
    let r = this.routes.get(url)
    if (r == null) {
      const re = new RegExp('^' + url.split('/').map(s => s.startsWith(':') ? '[^/]+' : s === '*' ? '.*' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('/') + '$')
      r = { re, methods: new Set() }
      this.routes.set(url, r)
    }
    for (const m of Array.isArray(method) ? method : [method]) r.methods.add(m.toUpperCase())
    if (r.methods.has('GET')) r.methods.add('HEAD')
  }

  /** The `Allow` value for a path, or undefined when no route has it. */
  allow (path: string): string | undefined {
    for (const { re, methods } of this.routes.values()) if (re.test(path)) return [...methods].sort().join(', ')
    return undefined
  }
}

/**
 * What Node's HTTP parser refuses before any request exists (headers too slow, too large, malformed) gets our error
 * body too; nothing about the node is told, so no auth is needed to hear it.
 */
function onClientError (err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const e = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
    ? new ApiError('ERR_REQUEST_TIMEOUT', `request headers did not arrive within ${HEADERS_TIMEOUT_MS} ms`)
    : err.code === 'HPE_HEADER_OVERFLOW'
      ? new ApiError('ERR_HEADERS_TOO_LARGE', 'request headers too large')
      : new ApiError('ERR_BAD_REQUEST', 'malformed HTTP request')
  const { status, code, message } = renderError(e)
  const body = JSON.stringify({ error: { code, message } })
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}

/** Build the fastify app with every plugin registered, without listening (tests use `inject`). */
export async function buildApiApp (init: ApiServerInit, plugins: ApiPlugin[]): Promise<FastifyInstance> {
  const gate = requestGate(init, plugins.flatMap(p => p.auth ?? []))
  const sendError = (err: unknown, reply: FastifyReply): void => {
    const { status, code, message, internal } = renderError(err)
    if (internal) init.logger.error({ err }, 'admin API request failed')
    void reply.status(status).type('application/json').send({ error: { code, message } })
  }
  const pending: Pending = []
  const app = Fastify({
    logger: false,
    bodyLimit: init.bodyLimitBytes,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // reject unknown and surplus query/body fields instead of silently dropping them
    ajv: { customOptions: AJV_OPTIONS },
    // fastify only calls a validator and reads its `errors`: the lazy one is not a full ajv ValidateFunction
    schemaController: { compilersFactory: { buildValidator: lazyValidators(pending) as AjvCompiler.BuildCompilerFromPool, buildSerializer: lazySerializers(pending) } },
    // checked every second, so a slow-header connection is closed within a second of the timeout
    http: { headersTimeout: HEADERS_TIMEOUT_MS, connectionsCheckingInterval: 1000 },
    // what the router refuses before any hook still passes the Host and token checks first, and gets our error body
    frameworkErrors: (err, req, reply) => {
      let e: unknown = err
      try { gate(req.raw) } catch (denied) { e = denied }
      sendError(e, reply)
    },
    clientErrorHandler: onClientError,
    // the API stops first, while every service still runs: a request racing the close is served, not a 503 (a 5xx is
    // a bug here, and fastify's 503 body is not ours); open connections are closed at once
    return503OnClosing: false,
    forceCloseConnections: true
  })
  pendingOf.set(app, pending)
  // JSON only, unless a route module registers its own parser (artifacts take raw octet streams)
  app.removeContentTypeParser('text/plain')
  const methods = new MethodTable()
  app.addHook('onRoute', (route) => { methods.add(route.url, route.method) })

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'meshnode admin API', version: init.version, description: 'Local administration of a meshnode daemon. Every route except /v1/health needs `Authorization: Bearer <token>` from `<data-dir>/admin.token`. Errors are `{ "error": { "code", "message" } }` with a 4xx status; a 5xx is a bug.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }]
    }
  })

  // callback style: no promise per request on the hot path
  app.addHook('onRequest', (req, _reply, done) => {
    try { gate(req.raw) } catch (err) { done(err as Error); return }
    done()
  })
  if (init.onResponse != null) {
    const onResponse = init.onResponse
    app.addHook('onResponse', (req, reply, done) => { onResponse(req.routeOptions.url ?? 'unmatched', reply.statusCode); done() })
  }

  app.setErrorHandler((err, _req, reply) => { sendError(err, reply) })
  // an unknown route is an error like any other: thrown, so the error handler above renders it
  app.setNotFoundHandler(async (req, reply) => {
    const path = req.url.split('?')[0]
    const allow = methods.allow(path)
    if (allow !== undefined) {
      void reply.header('allow', allow)
      throw new ApiError('ERR_METHOD', `${req.method} is not allowed on ${path} (allowed: ${allow})`)
    }
    throw new ApiError('ERR_NOT_FOUND', `no route ${req.method} ${path}`)
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
