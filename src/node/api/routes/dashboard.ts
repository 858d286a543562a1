/**
 * The web dashboard: its static files at `/` and `/web/*` (no credentials: the page holds no data), the one-time
 * login at `/login?code=`, and `/v1/dashboard/*` (login codes, the session's CSRF value, logout) behind the usual
 * gate. The plugin carries the session check the API's request gate runs when a request has no bearer token.
 *
 * Files come from the package itself (`src/node/api/web/`, found from the package root, so both `src/` under tsx
 * and the compiled `dist/` find them) and the browser builds of Preact, htm, signals and uPlot from node_modules,
 * their bare imports rewritten to our own URLs: nothing is fetched from outside the node, and no bundler runs.
 * Each file is read and gzipped once, on first request; responses carry a strict Content-Security-Policy.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, extname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ApiPlugin } from '../server.js'
import { ApiError } from '../errors.js'
import { errorResponses } from '../schemas.js'
import { CSRF_HEADER, LOGIN_CODE_TTL_MS, SessionStore, cookieName, readCookie, sessionCookie } from '../session.js'

/** The page may load and connect to this node only; no inline script or style element, no framing. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "font-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'"
].join('; ')

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml'
}

/** Browser builds served under `/web/vendor/`: package, file inside it, and the bare imports it makes. */
const VENDOR: ReadonlyArray<{ url: string, pkg: string, file: string }> = [
  { url: 'preact.js', pkg: 'preact', file: 'dist/preact.mjs' },
  { url: 'preact-hooks.js', pkg: 'preact', file: 'hooks/dist/hooks.mjs' },
  { url: 'signals-core.js', pkg: '@preact/signals-core', file: 'dist/signals-core.module.js' },
  { url: 'signals.js', pkg: '@preact/signals', file: 'dist/signals.module.js' },
  { url: 'htm.js', pkg: 'htm', file: 'dist/htm.module.js' },
  { url: 'uplot.js', pkg: 'uplot', file: 'dist/uPlot.esm.js' },
  { url: 'uplot.css', pkg: 'uplot', file: 'dist/uPlot.min.css' }
]
const BARE: Readonly<Record<string, string>> = {
  preact: './preact.js', 'preact/hooks': './preact-hooks.js', '@preact/signals-core': './signals-core.js', '@preact/signals': './signals.js'
}

/** One file ready to send. */
interface Asset { body: Buffer, gzip: Buffer, type: string, etag: string, cache: string }

/** The folder holding package.json of `meshnode`, above this file (src/... or dist/src/...). */
function packageRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const pj = join(dir, 'package.json')
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'meshnode') return dir
    const up = dirname(dir)
    if (up === dir) throw new Error('meshnode package root not found above ' + fileURLToPath(import.meta.url))
    dir = up
  }
}

/** A package's folder as Node resolves it from ours (hoisted or nested). */
function packageDir (root: string, pkg: string): string {
  const req = createRequire(join(root, 'package.json'))
  let dir = dirname(req.resolve(pkg))
  while (!existsSync(join(dir, 'package.json')) || (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name !== pkg) {
    const up = dirname(dir)
    if (up === dir) throw new Error(`package ${pkg} not found`)
    dir = up
  }
  return dir
}

function asset (body: Buffer, type: string, cache: string): Asset {
  return { body, gzip: gzipSync(body, { level: 9 }), type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`, cache }
}

/** Every file the dashboard serves, by URL path. Exported for the bench (bytes shipped). */
export function loadDashboardAssets (): Map<string, Asset> {
  const root = packageRoot()
  const web = join(root, 'src', 'node', 'api', 'web')
  const out = new Map<string, Asset>()
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name)
      if (statSync(p).isDirectory()) { walk(p); continue }
      const type = TYPES[extname(name)]
      if (type === undefined) continue
      // the page and our modules change with the package: revalidate them (ETag), cheap on loopback
      out.set('/web/' + relative(web, p).split(sep).join('/'), asset(readFileSync(p), type, 'no-cache'))
    }
  }
  walk(web)
  for (const v of VENDOR) {
    let text = readFileSync(join(packageDir(root, v.pkg), v.file), 'utf8')
    text = text.replace(/\n?\/\/# sourceMappingURL=.*$/m, '')
    text = text.replace(/(\bfrom\s*|\bimport\s*\(?\s*)(["'])([^"']+)\2/g, (m: string, pre: string, q: string, spec: string) => BARE[spec] !== undefined ? `${pre}${q}${BARE[spec]}${q}` : m)
    out.set(`/web/vendor/${v.url}`, asset(Buffer.from(text), TYPES[extname(v.url)], 'public, max-age=86400'))
  }
  const index = out.get('/web/index.html')
  if (index != null) out.set('/', index)
  return out
}

const LoginQuery = Type.Object({ code: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false })
const LoginCode = Type.Object({
  code: Type.String({ description: 'single use, valid 60 s' }),
  path: Type.String({ description: 'the login URL path on this API: `/login?code=...`' }),
  expiresAt: Type.String({ format: 'date-time' })
})
const SessionView = Type.Object({
  via: Type.Union([Type.Literal('token'), Type.Literal('cookie')]),
  csrf: Type.Union([Type.String(), Type.Null()], { description: 'send it as X-Meshnode-CSRF on state-changing requests (cookie sessions)' }),
  csrfHeader: Type.String(),
  expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
})

const isPublic = (path: string): boolean => path === '/' || path === '/login' || path.startsWith('/web/')

function send (req: FastifyRequest, reply: FastifyReply, a: Asset): FastifyReply {
  void reply.header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', a.cache)
    .header('etag', a.etag)
    .header('vary', 'accept-encoding')
    .type(a.type)
  if (req.headers['if-none-match'] === a.etag) return reply.status(304).send()
  if (/\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) return reply.header('content-encoding', 'gzip').send(a.gzip)
  return reply.send(a.body)
}

/** The dashboard route group, with its session check for the request gate. */
export function dashboardRoutes (sessions: SessionStore = new SessionStore()): ApiPlugin {
  let assets: Map<string, Asset> | undefined
  const plugin: ApiPlugin = (app) => {
    const serve = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      assets ??= loadDashboardAssets()
      const a = assets.get(req.url.split('?')[0])
      if (a === undefined) throw new ApiError('ERR_NOT_FOUND', `no file ${req.url.split('?')[0]}`)
      return send(req, reply, a)
    }
    app.get('/', { schema: { hide: true } }, serve)
    app.get('/web/*', { schema: { hide: true } }, serve)

    app.get('/login', { schema: { hide: true, querystring: LoginQuery } }, async (req, reply) => {
      const { code } = req.query as Static<typeof LoginQuery>
      const session = sessions.redeem(code)
      if (session === undefined) throw new ApiError('ERR_UNAUTHORIZED', 'login code unknown, already used or expired: run `meshnode dashboard` again')
      return await reply.header('set-cookie', sessionCookie(cookieName(req.raw.socket.localPort), session.id))
        .header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect('/', 303)
    })

    app.post('/v1/dashboard/login-codes', {
      schema: {
        tags: ['dashboard'],
        summary: `A one-time dashboard login code (valid ${LOGIN_CODE_TTL_MS / 1000} s, single use): open /login?code=<code> in a browser`,
        response: { 201: LoginCode, ...errorResponses }
      }
    }, async (_req, reply) => {
      const { code, expiresAt } = sessions.createCode()
      return await reply.status(201).send({ code, path: `/login?code=${code}`, expiresAt: new Date(expiresAt).toISOString() })
    })

    app.get('/v1/dashboard/session', {
      schema: { tags: ['dashboard'], summary: 'How this request is authenticated, and the session\'s CSRF value', response: { 200: SessionView, ...errorResponses } }
    }, async (req) => {
      // the gate let the request in: with a live session cookie, or else with the token
      const s = sessions.fromRequest(req.raw)
      return s === undefined
        ? { via: 'token' as const, csrf: null, csrfHeader: CSRF_HEADER, expiresAt: null }
        : { via: 'cookie' as const, csrf: s.csrf, csrfHeader: CSRF_HEADER, expiresAt: new Date(s.expiresAt).toISOString() }
    })

    app.post('/v1/dashboard/logout', {
      schema: { tags: ['dashboard'], summary: 'End this browser\'s dashboard session and clear its cookie', response: { 200: Type.Object({ loggedOut: Type.Boolean() }), ...errorResponses } }
    }, async (req, reply) => {
      const name = cookieName(req.raw.socket.localPort)
      const loggedOut = sessions.end(readCookie(req.headers.cookie, name))
      return await reply.header('set-cookie', sessionCookie(name, undefined)).send({ loggedOut })
    })
  }
  plugin.auth = { isPublic, verify: raw => sessions.verify(raw) }
  return plugin
}
