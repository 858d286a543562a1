import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { request as httpRequest } from 'node:http'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import SwaggerParser from '@apidevtools/swagger-parser'
import { Value } from '@sinclair/typebox/value'
import { Mesh, waitFor } from '../../harness/index.js'
import { NodeInfo, PeerView, HardwareRecordView } from '../../../src/node/api/schemas.js'
import { Type } from '@sinclair/typebox'
import type { MeshNode } from '../../../src/node/node.js'

interface Raw { status: number, body: string, headers: Record<string, string | string[] | undefined> }

/** A raw HTTP request (so tests can send any Host header, content type or body). */
async function raw (url: string, opts: { method?: string, headers?: Record<string, string>, body?: string | Buffer } = {}): Promise<Raw> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: opts.method ?? 'GET', headers: opts.headers }, res => {
      const chunks: Buffer[] = []
      res.on('data', c => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }) })
    })
    req.on('error', reject)
    if (opts.body != null) req.write(opts.body)
    req.end()
  })
}

function expectErrorBody (r: Raw, status: number, code?: string): void {
  expect(r.status, r.body).toBe(status)
  const body = JSON.parse(r.body)
  expect(typeof body.error.code).toBe('string')
  expect(typeof body.error.message).toBe('string')
  if (code != null) expect(body.error.code).toBe(code)
}

describe('admin API', () => {
  let mesh: Mesh
  let base: string
  let auth: Record<string, string>
  let doc: any

  beforeAll(async () => {
    mesh = await Mesh.start(2, { mode: 'inprocess' })
    base = mesh.nodes[0].api.baseUrl
    auth = { authorization: `Bearer ${(await readFile(join(mesh.nodes[0].dataDir, 'admin.token'), 'utf8')).trim()}` }
    doc = JSON.parse((await raw(`${base}/v1/openapi.json`, { headers: auth })).body)
  })
  afterAll(async () => { await mesh?.close() })

  it('serves an OpenAPI 3 document that passes a real validator', async () => {
    expect(doc.openapi).toMatch(/^3\./)
    await expect(SwaggerParser.validate(structuredClone(doc))).resolves.toBeDefined()
    for (const p of ['/v1/health', '/v1/node', '/v1/peers', '/v1/hardware', '/v1/hardware/peers', '/metrics', '/v1/events']) expect(doc.paths[p], p).toBeDefined()
  })

  it('answers health without a token and 401 on every other route without or with a wrong token, whatever the path parameter length', async () => {
    expect((await raw(`${base}/v1/health`)).status).toBe(200)
    const routes: Array<[string, string]> = [['get', '/v1/openapi.json']]
    // 7 characters, just over fastify's default 100-character parameter limit, and over our router's own limit
    const params = ['bafkqaaa', 'b'.repeat(101), 'b'.repeat(300), 'b'.repeat(2000)]
    for (const [path, ops] of Object.entries<Record<string, unknown>>(doc.paths)) {
      for (const method of Object.keys(ops)) {
        if (path === '/v1/health') continue
        if (!path.includes('{')) { routes.push([method, path]); continue }
        for (const p of params) routes.push([method, path.replace(/\{[^}]+\}/g, p)])
      }
    }
    expect(routes.length).toBeGreaterThanOrEqual(20)
    for (const [method, path] of routes) {
      expectErrorBody(await raw(`${base}${path}`, { method: method.toUpperCase() }), 401, 'ERR_UNAUTHORIZED')
      expectErrorBody(await raw(`${base}${path}`, { method: method.toUpperCase(), headers: { authorization: 'Bearer wrong-token-0123456789' } }), 401, 'ERR_UNAUTHORIZED')
      expectErrorBody(await raw(`${base}${path}`, { method: method.toUpperCase(), headers: { authorization: 'Basic abc' } }), 401)
      // the Host check comes first too, even with the right token
      expectErrorBody(await raw(`${base}${path}`, { method: method.toUpperCase(), headers: { ...auth, host: '[::1].evil.com' } }), 403, 'ERR_HOST')
    }
  })

  it('responds with bodies that match the published schemas', async () => {
    const info = JSON.parse((await raw(`${base}/v1/node`, { headers: auth })).body)
    expect(Value.Check(NodeInfo, info), JSON.stringify([...Value.Errors(NodeInfo, info)])).toBe(true)
    expect(info.peerId).toBe(mesh.nodes[0].peerId)
    await waitFor(async () => JSON.parse((await raw(`${base}/v1/peers`, { headers: auth })).body).peers.length === 1, { what: 'the second node to connect' })
    const peers = JSON.parse((await raw(`${base}/v1/peers`, { headers: auth })).body)
    expect(Value.Check(Type.Object({ peers: Type.Array(PeerView) }), peers)).toBe(true)
    const hw = JSON.parse((await raw(`${base}/v1/hardware`, { headers: auth })).body)
    expect(Value.Check(HardwareRecordView, hw)).toBe(true)
    const metrics = await raw(`${base}/metrics`, { headers: auth })
    expect(metrics.status).toBe(200)
    expect(metrics.body).toContain('meshnode_process_')
    expect(metrics.body).toContain('libp2p_')
    expect(metrics.body).toContain('meshnode_api_requests_total')
  })

  // every operation with generated valid and invalid inputs: test/integration/node/api-fuzz.test.ts
  it('refuses coerced types, non-UTF-8 charsets and undeclared methods on the real routes', async () => {
    const job = { model: { arch: 'mlp', layers: [10], seed: 1 }, dataset: 'digits', rounds: 5, minParticipants: 2, localEpochs: 1, batchSize: 32, learningRate: 0.1, aggregation: 'fedavg', compression: 'fp32' }
    const post = async (body: unknown, contentType = 'application/json'): Promise<Raw> =>
      await raw(`${base}/v1/training/jobs`, { method: 'POST', headers: { ...auth, 'content-type': contentType }, body: JSON.stringify(body) })
    expectErrorBody(await post({ ...job, rounds: '5' }), 400, 'ERR_VALIDATION')
    expectErrorBody(await post({ ...job, learningRate: '0.1' }), 400, 'ERR_VALIDATION')
    expectErrorBody(await post(job, 'application/json; charset=utf-16'), 415, 'ERR_UNSUPPORTED_MEDIA_TYPE')
    expectErrorBody(await raw(`${base}/v1/hardware/bandwidth`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"peerId": "x", "bytes": "1024"}' }), 400, 'ERR_VALIDATION')
    expectErrorBody(await raw(`${base}/v1/hardware/bandwidth`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: Buffer.alloc(2 * 1024 * 1024, 0x20) }), 413, 'ERR_TOO_LARGE')
    const del = await raw(`${base}/v1/node`, { method: 'DELETE', headers: auth })
    expectErrorBody(del, 405, 'ERR_METHOD')
    expect(del.headers.allow).toBe('GET, HEAD')
    expectErrorBody(await raw(`${base}/v1/nope`, { headers: auth }), 404, 'ERR_NOT_FOUND')
  })

  it('rejects unexpected Host headers (DNS rebinding)', async () => {
    expectErrorBody(await raw(`${base}/v1/node`, { headers: { ...auth, host: 'evil.example:80' } }), 403, 'ERR_HOST')
    expectErrorBody(await raw(`${base}/v1/health`, { headers: { host: 'attacker.test' } }), 403, 'ERR_HOST')
    for (const host of ['[::1].evil.com', 'localhost:evil.com', 'localhost:65536', 'localhost:80x', '127.0.0.1:']) {
      expectErrorBody(await raw(`${base}/v1/node`, { headers: { ...auth, host } }), 403, 'ERR_HOST')
    }
    expect((await raw(`${base}/v1/node`, { headers: { ...auth, host: `localhost:${new URL(base).port}` } })).status).toBe(200)
  })

  it('streams node events over SSE', async () => {
    const ctrl = new AbortController()
    const res = await fetch(`${base}/v1/events`, { headers: auth, signal: ctrl.signal })
    expect(res.headers.get('content-type')).toContain('text/event-stream')
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    let text = ''
    const third = await mesh.add({ mode: 'inprocess', bootstrap: mesh.nodes[0].addresses })
    await waitFor(async () => {
      const { value } = await reader.read()
      text += new TextDecoder().decode(value)
      return text.includes('event: peer.connected') && text.includes(third.peerId)
    }, { what: 'a peer.connected event for the new node' })
    ctrl.abort()
  })

  it('compiles every route schema of the real node (on first use or in the background after start, not before listening)', () => {
    // in-process nodes expose their MeshNode; a schema ajv or fast-json-stringify cannot compile throws here (the
    // background warm-up leaves it pending); how many are left depends on how far the warm-up got
    const node = (mesh.nodes[0] as { node?: MeshNode }).node
    expect(node).toBeDefined()
    expect(node?.api.compileSchemas()).toBeGreaterThanOrEqual(0)
    expect(node?.api.compileSchemas()).toBe(0)
  })
})
