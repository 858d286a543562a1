/**
 * Route schemas compile on first use (not at start-up): validation and response serialization still apply on the
 * first and later requests, and `compileAllSchemas` compiles the rest, throwing for a schema that cannot compile.
 * `warmSchemas` compiles them in the background after listening, stops when told, and leaves a broken one pending.
 */
import { describe, it, expect } from 'vitest'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { buildApiApp, compileAllSchemas, pendingSchemas, warmSchemas, type ApiPlugin } from '../../../src/node/api/server.js'
import { silentLogger } from '../../../src/common/logger.js'

const TOKEN = 'unit-token-0123456789abcdef'
const AUTH = { authorization: `Bearer ${TOKEN}` }
const INIT = { host: '127.0.0.1', port: 0, token: TOKEN, allowedHosts: [], bodyLimitBytes: 64 * 1024, version: 'test', logger: silentLogger }

const routes: ApiPlugin = (app) => {
  app.post('/v1/echo', {
    schema: {
      body: Type.Object({ n: Type.Integer() }, { additionalProperties: false }),
      response: { 200: Type.Object({ n: Type.Integer(), doubled: Type.Integer() }) }
    }
  }, async (req) => {
    const { n } = req.body as { n: number }
    // `secret` is not in the response schema: the serializer must drop it
    return { n, doubled: 2 * n, secret: 'not for the client' }
  })
  app.get('/v1/items/:id', { schema: { params: Type.Object({ id: Type.Integer({ minimum: 1 }) }) } }, async (req) => ({ id: (req.params as { id: number }).id }))
}

/** Poll `check` every 20 ms until it holds; fails after `timeoutMs` (a loaded machine compiles slowly). */
async function until (check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

async function withApp (plugins: ApiPlugin[], fn: (app: FastifyInstance) => Promise<void>): Promise<void> {
  const app = await buildApiApp(INIT, plugins)
  try { await fn(app) } finally { await app.close() }
}

describe('lazily compiled route schemas', () => {
  it('validates bodies and params and serializes responses from the first request on', async () => {
    await withApp([routes], async (app) => {
      for (let i = 0; i < 2; i++) {
        const bad = await app.inject({ method: 'POST', url: '/v1/echo', headers: AUTH, payload: { n: '5' } })
        expect(bad.statusCode, bad.body).toBe(400)
        expect(JSON.parse(bad.body).error.message).toMatch(/integer/)
        const surplus = await app.inject({ method: 'POST', url: '/v1/echo', headers: AUTH, payload: { n: 5, x: 1 } })
        expect(surplus.statusCode).toBe(400)
        const ok = await app.inject({ method: 'POST', url: '/v1/echo', headers: AUTH, payload: { n: 5 } })
        expect(ok.statusCode, ok.body).toBe(200)
        expect(ok.body).toBe('{"n":5,"doubled":10}')
      }
      // path parameters are coerced to their schema's types; out of range is refused
      expect((await app.inject({ method: 'GET', url: '/v1/items/7', headers: AUTH })).json()).toEqual({ id: 7 })
      expect((await app.inject({ method: 'GET', url: '/v1/items/0', headers: AUTH })).statusCode).toBe(400)
    })
  })

  it('compiles the schemas no request needed yet, once', async () => {
    await withApp([routes], async (app) => {
      const before = compileAllSchemas(app)
      expect(before).toBeGreaterThan(0)
      expect(compileAllSchemas(app)).toBe(0)
      const ok = await app.inject({ method: 'POST', url: '/v1/echo', headers: AUTH, payload: { n: 2 } })
      expect(ok.body).toBe('{"n":2,"doubled":4}')
    })
  })

  it('reports a schema that cannot compile when asked to compile all', async () => {
    const broken: ApiPlugin = (app) => {
      app.post('/v1/broken', { schema: { body: { type: 'object', properties: { n: { type: 'no-such-type' } } } } }, async () => ({}))
    }
    await withApp([broken], async (app) => {
      expect(() => compileAllSchemas(app)).toThrow()
    })
  })

  it('warms the pending schemas in the background, and stops when aborted', async () => {
    await withApp([routes], async (app) => {
      expect(pendingSchemas(app)).toBeGreaterThan(0)
      warmSchemas(app)
      await until(() => pendingSchemas(app) === 0, 'every schema compiled in the background')
      expect(compileAllSchemas(app)).toBe(0)
      const ok = await app.inject({ method: 'POST', url: '/v1/echo', headers: AUTH, payload: { n: 3 } })
      expect(ok.body).toBe('{"n":3,"doubled":6}')
      expect((await app.inject({ method: 'POST', url: '/v1/echo', headers: AUTH, payload: { n: '3' } })).statusCode).toBe(400)
    })
    await withApp([routes], async (app) => {
      const signal = AbortSignal.abort()
      warmSchemas(app, { signal })
      await new Promise(resolve => setTimeout(resolve, 100))
      expect(compileAllSchemas(app)).toBeGreaterThan(0)
    })
  })

  it('leaves a schema that cannot compile pending for compileAllSchemas', async () => {
    const broken: ApiPlugin = (app) => {
      app.post('/v1/broken', { schema: { body: { type: 'object', properties: { n: { type: 'no-such-type' } } } } }, async () => ({}))
    }
    await withApp([routes, broken], async (app) => {
      const before = pendingSchemas(app)
      warmSchemas(app)
      // the warm-up stops at the broken one, which stays first in line
      await until(() => pendingSchemas(app) < before, 'the warm-up under way')
      await new Promise(resolve => setTimeout(resolve, 200))
      expect(() => compileAllSchemas(app)).toThrow()
    })
  })
})
