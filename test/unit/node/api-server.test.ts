/**
 * The admin API server's own hardening, on a real listening server with small test routes: auth and Host checks
 * before the router (long path parameters), strict Host parsing (duplicate headers), bodies without type coercion,
 * unsupported charsets, 405 with Allow, the event-stream cap, and the slow-header timeout.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { connect } from 'node:net'
import { request as httpRequest } from 'node:http'
import { Type } from '@sinclair/typebox'
import { startApiServer, HEADERS_TIMEOUT_MS, MAX_PARAM_LENGTH, type ApiServer } from '../../../src/node/api/server.js'
import { eventTypeFilter, observabilityRoutes } from '../../../src/node/api/routes/observability.js'
import { ArtifactCidParamsSchema } from '../../../src/storage/index.js'
import { EventBus } from '../../../src/common/events.js'
import { silentLogger } from '../../../src/common/logger.js'
import type { ApiPlugin } from '../../../src/node/api/server.js'

const TOKEN = 'unit-token-0123456789abcdef'
const AUTH = { authorization: `Bearer ${TOKEN}` }

interface Raw { status: number, body: string, headers: Record<string, string | string[] | undefined> }

async function raw (base: string, path: string, opts: { method?: string, headers?: Record<string, string>, body?: string } = {}): Promise<Raw> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest(base + path, { method: opts.method ?? 'GET', headers: opts.headers }, res => {
      const chunks: Buffer[] = []
      res.on('data', c => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }) })
    })
    req.on('error', reject)
    if (opts.body != null) req.write(opts.body)
    req.end()
  })
}

/** Write bytes on a fresh socket and collect everything until the server closes it. */
async function socketExchange (port: number, text: string, opts: { end?: boolean } = {}): Promise<{ data: string, ms: number }> {
  const t0 = Date.now()
  return await new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => { s.write(text); if (opts.end === true) s.end() })
    let data = ''
    s.on('data', d => { data += String(d) })
    s.on('close', () => { resolve({ data, ms: Date.now() - t0 }) })
    s.on('error', reject)
  })
}

function expectError (r: Raw, status: number, code: string): void {
  expect(r.status, r.body).toBe(status)
  const body = JSON.parse(r.body)
  expect(body).toEqual({ error: { code, message: expect.any(String) } })
}

const testRoutes: ApiPlugin = (app) => {
  app.post('/t/echo', {
    schema: { body: Type.Object({ n: Type.Integer(), flag: Type.Optional(Type.Boolean()) }, { additionalProperties: false }), querystring: Type.Object({ q: Type.Optional(Type.Integer()) }) }
  }, async (req) => ({ body: req.body, query: req.query }))
  app.get('/t/cid/:cid', { schema: { params: ArtifactCidParamsSchema } }, async (req) => req.params)
  app.delete('/t/cid/:cid', { schema: { params: ArtifactCidParamsSchema } }, async (req) => req.params)
}

describe('admin API server hardening', () => {
  let server: ApiServer
  const bus = new EventBus<{ tick: { n: number }, 'vote.cast': { n: number }, 'vote.counted': { n: number } }>()

  beforeAll(async () => {
    server = await startApiServer({ host: '127.0.0.1', port: 0, token: TOKEN, allowedHosts: [], bodyLimitBytes: 1024 * 1024, version: 'test', logger: silentLogger },
      [testRoutes, observabilityRoutes({ registry: { contentType: 'text/plain; version=0.0.4; charset=utf-8', metrics: async () => '' }, events: bus, maxEventStreams: 2 })])
  })
  afterAll(async () => { await server?.close() })

  it('checks auth and Host before the router, for path parameters of any length', async () => {
    for (const len of [7, 101, 300, MAX_PARAM_LENGTH + 1, 5000]) {
      const p = `/t/cid/${'b'.repeat(len)}`
      expectError(await raw(server.url, p), 401, 'ERR_UNAUTHORIZED')
      expectError(await raw(server.url, p, { headers: { authorization: 'Bearer wrong-token-0123456789' } }), 401, 'ERR_UNAUTHORIZED')
      expectError(await raw(server.url, p, { headers: { ...AUTH, host: 'evil.example' } }), 403, 'ERR_HOST')
      expectError(await raw(server.url, p, { method: 'PUT' }), 401, 'ERR_UNAUTHORIZED')
    }
    // an undecodable URL is refused by the router, after the same checks
    expectError(await raw(server.url, '/t/cid/%E0%A4%A'), 401, 'ERR_UNAUTHORIZED')
    expectError(await raw(server.url, '/t/cid/%E0%A4%A', { headers: AUTH }), 400, 'ERR_BAD_REQUEST')
  })

  it('accepts parameters up to the schema\'s length and refuses longer ones with our error body', async () => {
    const max = ArtifactCidParamsSchema.properties.cid.maxLength as number
    const ok = await raw(server.url, `/t/cid/b${'a'.repeat(max - 1)}`, { headers: AUTH })
    expect(ok.status, ok.body).toBe(200)
    expectError(await raw(server.url, `/t/cid/b${'a'.repeat(max)}`, { headers: AUTH }), 400, 'ERR_VALIDATION')
    expectError(await raw(server.url, `/t/cid/${'a'.repeat(MAX_PARAM_LENGTH + 1)}`, { headers: AUTH }), 414, 'ERR_URI_TOO_LONG')
  })

  it('refuses malformed and duplicate Host headers', async () => {
    for (const host of ['[::1].evil.com', 'localhost:evil.com', 'localhost:99999', 'localhost:8o', '127.0.0.1.evil.com']) {
      expectError(await raw(server.url, '/t/cid/bafkqaaa', { headers: { ...AUTH, host } }), 403, 'ERR_HOST')
    }
    const port = server.port
    const two = await socketExchange(port, `GET /t/cid/bafkqaaa HTTP/1.1\r\nHost: localhost:${port}\r\nHost: localhost:${port}\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`)
    // Node's parser passes both on (req.headers.host keeps the first): our check must refuse them
    expect(two.data).toMatch(/^HTTP\/1\.1 403 /)
    expect(two.data).toContain('"ERR_HOST"')
    const one = await socketExchange(port, `GET /t/cid/bafkqaaa HTTP/1.1\r\nHost: localhost:${port}\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`)
    expect(one.data).toMatch(/^HTTP\/1\.1 200 /)
  })

  it('answers a malformed request line with our error body', async () => {
    const r = await socketExchange(server.port, 'GARBAGE\r\n\r\n')
    expect(r.data).toMatch(/^HTTP\/1\.1 400 /)
    expect(JSON.parse(r.data.slice(r.data.indexOf('\r\n\r\n') + 4)).error.code).toBe('ERR_BAD_REQUEST')
  })

  it('validates JSON bodies without type coercion (query strings are still text)', async () => {
    const post = async (body: string, q = ''): Promise<Raw> => await raw(server.url, `/t/echo${q}`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body })
    expect(JSON.parse((await post('{"n":5}', '?q=7')).body)).toEqual({ body: { n: 5 }, query: { q: 7 } })
    expectError(await post('{"n":"5"}'), 400, 'ERR_VALIDATION')
    expectError(await post('{"n":5,"flag":"true"}'), 400, 'ERR_VALIDATION')
    expectError(await post('{"n":[5]}'), 400, 'ERR_VALIDATION')
    expectError(await post('{"n":5.5}'), 400, 'ERR_VALIDATION')
    expectError(await post('{"n":null}'), 400, 'ERR_VALIDATION')
  })

  it('refuses bodies declared in a charset other than UTF-8 with 415', async () => {
    const post = async (type: string): Promise<Raw> => await raw(server.url, '/t/echo', { method: 'POST', headers: { ...AUTH, 'content-type': type }, body: '{"n":5}' })
    expectError(await post('application/json; charset=utf-16'), 415, 'ERR_UNSUPPORTED_MEDIA_TYPE')
    expectError(await post('application/json;charset="UTF-16LE"'), 415, 'ERR_UNSUPPORTED_MEDIA_TYPE')
    expectError(await post('application/json; charset=iso-8859-1'), 415, 'ERR_UNSUPPORTED_MEDIA_TYPE')
    expect((await post('application/json; charset=UTF-8')).status).toBe(200)
    expect((await post('application/json; charset="utf-8"')).status).toBe(200)
  })

  it('answers an undeclared method on a known path with 405 and Allow', async () => {
    const r = await raw(server.url, '/t/cid/bafkqaaa', { method: 'PUT', headers: AUTH })
    expectError(r, 405, 'ERR_METHOD')
    expect(r.headers.allow).toBe('DELETE, GET, HEAD')
    const e = await raw(server.url, '/t/echo', { method: 'GET', headers: AUTH })
    expectError(e, 405, 'ERR_METHOD')
    expect(e.headers.allow).toBe('POST')
    expectError(await raw(server.url, '/t/nope', { headers: AUTH }), 404, 'ERR_NOT_FOUND')
  })

  it('caps concurrent event streams with 429 and frees a slot when a stream closes', async () => {
    const open = async (): Promise<{ status: number, ctrl: AbortController, body: string }> => {
      const ctrl = new AbortController()
      const res = await fetch(`${server.url}/v1/events`, { headers: AUTH, signal: ctrl.signal })
      return { status: res.status, ctrl, body: res.status === 200 ? '' : await res.text() }
    }
    const a = await open()
    const b = await open()
    expect([a.status, b.status]).toEqual([200, 200])
    const c = await open()
    expect(c.status).toBe(429)
    expect(JSON.parse(c.body).error.code).toBe('ERR_BUSY')
    a.ctrl.abort()
    const deadline = Date.now() + 5000
    let d = await open()
    while (d.status !== 200 && Date.now() < deadline) { await new Promise(resolve => setTimeout(resolve, 50)); d = await open() }
    expect(d.status).toBe(200)
    b.ctrl.abort()
    d.ctrl.abort()
  })

  /** Open `/v1/events` (with `query`), waiting for an earlier test's streams to free their slots; past the comment line. */
  const openEvents = async (query = ''): Promise<{ ctrl: AbortController, reader: ReadableStreamDefaultReader<string> }> => {
    const ctrl = new AbortController()
    let res = await fetch(`${server.url}/v1/events${query}`, { headers: AUTH, signal: ctrl.signal })
    for (const deadline = Date.now() + 5000; res.status === 429 && Date.now() < deadline;) {
      await new Promise(resolve => setTimeout(resolve, 50))
      res = await fetch(`${server.url}/v1/events${query}`, { headers: AUTH, signal: ctrl.signal })
    }
    expect(res.status).toBe(200)
    const reader = (res.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader()
    expect((await reader.read()).value).toBe(': meshnode events\n\n')
    return { ctrl, reader }
  }

  it('streams the events of one tick (written corked) whole and in order, and the next tick\'s after them', async () => {
    const { ctrl, reader } = await openEvents()
    for (const n of [1, 2, 3]) bus.emit('tick', { n })
    let first = ''
    while ((first.match(/\n\n/g) ?? []).length < 3) first += (await reader.read()).value ?? ''
    expect(first).toMatch(/^(event: tick\ndata: \{"at":"[^"]+","n":\d\}\n\n){3}$/)
    expect([...first.matchAll(/"n":(\d)/g)].map(m => m[1])).toEqual(['1', '2', '3'])
    bus.emit('tick', { n: 4 })
    expect((await reader.read()).value).toMatch(/^event: tick\ndata: \{"at":"[^"]+","n":4\}\n\n$/)
    ctrl.abort()
  })

  it('streams only the event types a `types` query names (exact names and prefix.*); a bad pattern is a 400', async () => {
    const { ctrl, reader } = await openEvents('?types=tick,vote.*')
    const other = await openEvents('?types=vote.counted')
    bus.emit('vote.cast', { n: 1 })
    bus.emit('tick', { n: 2 })
    bus.emit('vote.counted', { n: 3 })
    let got = ''
    while ((got.match(/\n\n/g) ?? []).length < 3) got += (await reader.read()).value ?? ''
    expect([...got.matchAll(/event: (\S+)/g)].map(m => m[1])).toEqual(['vote.cast', 'tick', 'vote.counted'])
    // the other stream got the one type it named, and nothing before it
    expect((await other.reader.read()).value).toMatch(/^event: vote\.counted\ndata: \{"at":"[^"]+","n":3\}\n\n$/)
    ctrl.abort()
    other.ctrl.abort()
    for (const q of ['?types=', '?types=a*b', '?types=*', '?types=a,,b', '?types=tick&x=1']) expectError(await raw(server.url, `/v1/events${q}`, { headers: AUTH }), 400, 'ERR_VALIDATION')
  })

  it(`closes a connection whose headers do not arrive within ${HEADERS_TIMEOUT_MS} ms`, async () => {
    expect(HEADERS_TIMEOUT_MS).toBeLessThanOrEqual(10_000)
    const r = await socketExchange(server.port, 'GET /t/cid/bafkqaaa HTTP/1.1\r\nHost: localhost\r\nX-Slow: ')
    expect(r.ms).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100)
    expect(r.ms).toBeLessThan(HEADERS_TIMEOUT_MS + 3000)
    expect(r.data).toMatch(/^HTTP\/1\.1 408 /)
    expect(JSON.parse(r.data.slice(r.data.indexOf('\r\n\r\n') + 4))).toEqual({ error: { code: 'ERR_REQUEST_TIMEOUT', message: expect.any(String) } })
  }, 20_000)
})

describe('eventTypeFilter', () => {
  const known = ['proposal.created', 'proposal.accepted', 'peer.connected']
  it.each([
    // [types, type, kept]
    [undefined, 'anything', true],
    ['proposal.created', 'proposal.created', true],
    ['proposal.created', 'proposal.accepted', false],
    ['proposal.*', 'proposal.accepted', true],
    ['proposal.*', 'peer.connected', false],
    ['peer.connected,proposal.*', 'peer.connected', true]
  ])('types=%s keeps %s: %s', (types, type, kept) => {
    expect(eventTypeFilter(types, known)(type)).toBe(kept)
  })
  it.each(['proposal.create', 'ledger.*', 'proposal*', 'a.*.*'])('refuses %s against the node\'s event map', types => {
    expect(() => eventTypeFilter(types, known)).toThrow(/ERR_VALIDATION|event type/)
  })
})
