import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { request as httpRequest } from 'node:http'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import SwaggerParser from '@apidevtools/swagger-parser'
import { Value } from '@sinclair/typebox/value'
import { Mesh, waitFor } from '../../harness/index.js'
import { NodeInfo, PeerView, HardwareRecordView } from '../../../src/node/api/schemas.js'
import { Type } from '@sinclair/typebox'

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

  it('answers health without a token and 401 on every other route without or with a wrong token', async () => {
    expect((await raw(`${base}/v1/health`)).status).toBe(200)
    const routes: Array<[string, string]> = [['get', '/v1/openapi.json']]
    for (const [path, ops] of Object.entries<Record<string, unknown>>(doc.paths)) {
      for (const method of Object.keys(ops)) if (path !== '/v1/health') routes.push([method, path.replace(/\{[^}]+\}/g, 'bafkqaaa')])
    }
    expect(routes.length).toBeGreaterThanOrEqual(7)
    for (const [method, path] of routes) {
      expectErrorBody(await raw(`${base}${path}`, { method: method.toUpperCase() }), 401, 'ERR_UNAUTHORIZED')
      expectErrorBody(await raw(`${base}${path}`, { method: method.toUpperCase(), headers: { authorization: 'Bearer wrong-token-0123456789' } }), 401, 'ERR_UNAUTHORIZED')
      expectErrorBody(await raw(`${base}${path}`, { method: method.toUpperCase(), headers: { authorization: 'Basic abc' } }), 401)
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

  it('gives 4xx, never 5xx, for malformed JSON, oversized bodies, wrong content types, bad fields and unknown routes', async () => {
    const post = async (body: string | Buffer, contentType: string): Promise<Raw> =>
      await raw(`${base}/v1/hardware/bandwidth`, { method: 'POST', headers: { ...auth, 'content-type': contentType }, body })
    expectErrorBody(await post('{"peerId": ', 'application/json'), 400)
    expectErrorBody(await post(Buffer.alloc(2 * 1024 * 1024, 0x20), 'application/json'), 413, 'ERR_TOO_LARGE')
    expectErrorBody(await post('peerId=x', 'text/plain'), 415, 'ERR_UNSUPPORTED_MEDIA_TYPE')
    expectErrorBody(await post('{"peerId": {"a": 1}}', 'application/json'), 400, 'ERR_VALIDATION')
    expectErrorBody(await post('{"peerId": "x", "bytes": -1}', 'application/json'), 400, 'ERR_VALIDATION')
    expectErrorBody(await post('{"peerId": "x", "extra": 1}', 'application/json'), 400, 'ERR_VALIDATION')
    expectErrorBody(await post('{"peerId": "not-a-peer-id"}', 'application/json'), 400, 'ERR_PEER_ID')
    expectErrorBody(await raw(`${base}/v1/nope`, { headers: auth }), 404, 'ERR_NOT_FOUND')
    expectErrorBody(await raw(`${base}/v1/node`, { method: 'DELETE', headers: auth }), 404)
  })

  it('rejects unexpected Host headers (DNS rebinding)', async () => {
    expectErrorBody(await raw(`${base}/v1/node`, { headers: { ...auth, host: 'evil.example:80' } }), 403, 'ERR_HOST')
    expectErrorBody(await raw(`${base}/v1/health`, { headers: { host: 'attacker.test' } }), 403, 'ERR_HOST')
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
})
