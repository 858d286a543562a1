import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest'
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises'
import { createReadStream } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import { startApiServer, type ApiServer } from '../../../src/node/api/server.js'
import { artifactRoutes } from '../../../src/node/api/routes/artifacts.js'
import { ApiClient, ClientError } from '../../../src/node/cli/client.js'
import { silentLogger } from '../../../src/common/logger.js'
import { Mesh } from '../../harness/index.js'
import { startStorageNode, connectAll, pseudoRandom, sha256, hashStream, waitFor, type StorageNode } from './helpers.js'

const MiB = 1024 * 1024
const TOKEN = 'test-token-0123456789abcdef'

async function bodyHash (res: Response): Promise<{ sha: string, bytes: number }> {
  return await hashStream(Readable.fromWeb(res.body as any))
}

describe('artifact API over real HTTP (lead\'s API server + artifact routes, library nodes)', () => {
  let root: string
  let nodes: StorageNode[] = []
  const servers: ApiServer[] = []
  const clients: ApiClient[] = []
  const data = pseudoRandom(64 * MiB, 11)
  let file: string

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'meshnode-api-'))
    file = join(root, 'upload.bin')
    await writeFile(file, data)
    nodes = await Promise.all([0, 1].map(async i => await startStorageNode(join(root, `n${i}`), { storage: { quotaBytes: 100 * MiB } })))
    await connectAll(nodes)
    for (const n of nodes) {
      const server = await startApiServer({
        host: '127.0.0.1', port: 0, token: TOKEN, allowedHosts: [], bodyLimitBytes: MiB, version: '0.0.0-test', logger: silentLogger
      }, [artifactRoutes({ artifacts: n.store, fetchTimeoutMs: 1500 })])
      servers.push(server)
      clients.push(new ApiClient(server.url, TOKEN))
    }
  })

  afterAll(async () => {
    for (const s of servers.reverse()) await s.close().catch(() => {})
    for (const n of nodes.reverse()) await n.close().catch(() => {})
    await rm(root, { recursive: true, force: true })
  })

  it('streams a 64 MiB upload past the 1 MiB JSON body limit and serves it byte-identical from another node', async () => {
    const [a, b] = clients
    const added = await a.request<{ cid: string, size: number }>('POST', '/v1/artifacts', {
      query: { name: 'weights.bin', kind: 'model', job: 'job-9', round: 2 },
      body: createReadStream(file)
    })
    expect(added.size).toBe(64 * MiB)
    // the other node fetches it from A over bitswap and streams it out
    const res = await b.fetch('GET', `/v1/artifacts/${added.cid}`)
    expect(res.headers.get('content-length')).toBe(String(64 * MiB))
    expect(await bodyHash(res)).toEqual({ sha: sha256(data), bytes: 64 * MiB })

    const list = await waitFor(async () => {
      const { artifacts } = await b.request<{ artifacts: Array<{ cid: string, local: boolean, job?: string }> }>('GET', '/v1/artifacts', { query: { job: 'job-9', round: 2 } })
      return artifacts.length === 1 ? artifacts : undefined
    }, 'the announcement in B\'s list')
    expect(list[0]).toMatchObject({ cid: added.cid, local: false })
    expect(await b.request('GET', `/v1/artifacts/${added.cid}/meta`)).toMatchObject({ name: 'weights.bin', kind: 'model', round: 2, producer: nodes[0].peerId })

    expect(await b.request('POST', `/v1/artifacts/${added.cid}/pin`)).toMatchObject({ cid: added.cid, local: true })
    expect(await b.request('DELETE', `/v1/artifacts/${added.cid}`)).toEqual({ cid: added.cid, unpinned: true })
    const gc = await b.request<{ freedBytes: number }>('POST', '/v1/storage/gc')
    expect(gc.freedBytes).toBeGreaterThanOrEqual(64 * MiB)
    expect(await b.request('GET', '/v1/storage')).toMatchObject({ usedBytes: 0, quotaBytes: 100 * MiB, artifacts: { local: 0, remote: 1 } })
  })

  it('maps errors: unknown CID 404 after the timeout, bad CID 400, too big for the quota 413, wrong content type 415', async () => {
    const [a] = clients
    const t0 = Date.now()
    const missing = await a.fetch('GET', '/v1/artifacts/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy').catch(e => e)
    expect(missing).toBeInstanceOf(ClientError)
    expect([missing.status, missing.code]).toEqual([404, 'ERR_NOT_FOUND'])
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400)
    expect(Date.now() - t0).toBeLessThan(3000)
    await expect(a.fetch('GET', '/v1/artifacts/not-a-cid')).rejects.toMatchObject({ status: 400, code: 'ERR_INVALID_CID' })
    await expect(a.fetch('GET', '/v1/artifacts/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy/meta')).rejects.toMatchObject({ status: 404 })
    // 100 MiB quota, 64 MiB used: a declared 48 MiB upload is refused before it is read
    const big = await a.fetch('POST', '/v1/artifacts', { query: { name: 'huge' }, body: pseudoRandom(48 * MiB, 3) }).catch(e => e)
    expect([big.status, big.code]).toEqual([413, 'ERR_QUOTA'])
    // no Content-Length (chunked): refused while streaming, and nothing of it stays
    const used = nodes[0].storage.blockstore.usedBytes
    async function * chunks (): AsyncGenerator<Uint8Array> { for (let i = 0; i < 48; i++) yield pseudoRandom(MiB, 100 + i) }
    const streamed = await a.fetch('POST', '/v1/artifacts', { query: { name: 'huge' }, body: Readable.from(chunks()) }).catch(e => e)
    expect([streamed.status, streamed.code]).toEqual([413, 'ERR_QUOTA'])
    expect(nodes[0].storage.blockstore.usedBytes).toBe(used)
    await expect(a.fetch('POST', '/v1/artifacts', { query: { name: 'x' }, json: { not: 'bytes' } })).rejects.toMatchObject({ status: 415 })
    await expect(a.fetch('POST', '/v1/artifacts', { query: { kind: 'model' }, body: new Uint8Array(4) })).rejects.toMatchObject({ status: 400 })
    await expect(a.fetch('DELETE', '/v1/artifacts/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')).rejects.toMatchObject({ status: 404 })
  })

  it('answers 404 ERR_NOT_FOUND, not a 5xx, when the root is here but no peer provides the first block in time', async () => {
    const [a] = clients
    const added = await a.request<{ cid: string }>('POST', '/v1/artifacts', { query: { name: 'holey.bin' }, body: pseudoRandom(3 * MiB, 31) })
    // drop every leaf on A (the root stays): B never fetched it, so nobody can provide the first block
    const root = CID.parse(added.cid)
    let rootBytes = new Uint8Array()
    for await (const chunk of nodes[0].storage.blockstore.get(root)) rootBytes = Uint8Array.from([...rootBytes, ...chunk])
    const links = dagPb.decode(rootBytes).Links
    expect(links.length).toBeGreaterThan(1)
    for (const l of links) await nodes[0].storage.blockstore.delete(l.Hash)
    const t0 = Date.now()
    const r = await a.fetch('GET', `/v1/artifacts/${added.cid}`).catch(e => e)
    expect(r).toBeInstanceOf(ClientError)
    expect([r.status, r.code]).toEqual([404, 'ERR_NOT_FOUND'])
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400)
    await a.request('DELETE', `/v1/artifacts/${added.cid}`)
  })

  it('documents every route in the OpenAPI document under the artifacts tag', async () => {
    const doc = await clients[0].request<{ paths: Record<string, Record<string, { tags?: string[] }>> }>('GET', '/v1/openapi.json')
    for (const [path, method] of [['/v1/artifacts', 'post'], ['/v1/artifacts', 'get'], ['/v1/artifacts/{cid}', 'get'], ['/v1/artifacts/{cid}/meta', 'get'],
      ['/v1/artifacts/{cid}/pin', 'post'], ['/v1/artifacts/{cid}', 'delete'], ['/v1/storage/gc', 'post'], ['/v1/storage', 'get']]) {
      expect(doc.paths[path]?.[method]?.tags, `${method} ${path}`).toEqual(['artifacts'])
    }
  })

  it('drives the routes through the CLI commands (add, ls, get -o, rm) with --json', async () => {
    const { Command } = await import('commander')
    const { registerArtifactCommands } = await import('../../../src/node/cli/commands/artifacts.js')
    const run = async (client: ApiClient, args: string[]): Promise<any> => {
      const program = new Command('meshnode').exitOverride()
      registerArtifactCommands(program, async () => client)
      const out: string[] = []
      const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => { out.push(String(chunk)); return true })
      try { await program.parseAsync(['node', 'meshnode', ...args]) } finally { spy.mockRestore() }
      return JSON.parse(out.join(''))
    }
    const small = join(root, 'small.bin')
    const bytes = pseudoRandom(5 * MiB, 21)
    await writeFile(small, bytes)
    const added = await run(clients[0], ['artifacts', 'add', small, '--kind', 'dataset', '--job', 'cli-job', '--round', '4', '--json'])
    expect(added.size).toBe(5 * MiB)
    const listed = await run(clients[0], ['artifacts', 'ls', '--job', 'cli-job', '--local', '--json'])
    expect(listed).toMatchObject([{ cid: added.cid, name: 'small.bin', kind: 'dataset', round: 4, local: true }])
    const out = join(root, 'fetched.bin')
    expect(await run(clients[1], ['artifacts', 'get', added.cid, '-o', out, '--json'])).toMatchObject({ cid: added.cid, size: 5 * MiB })
    expect(sha256(await readFile(out))).toBe(sha256(bytes))
    expect(await run(clients[0], ['artifacts', 'rm', added.cid, '--json'])).toEqual({ cid: added.cid, unpinned: true })
  })
})

describe('artifact API on full nodes (test/harness)', () => {
  it('adds 64 MiB on one node and reads it byte-identical from another', async () => {
    const mesh = await Mesh.start(2, { mode: 'inprocess' })
    try {
      const [a, b] = mesh.nodes
      // a node that does not serve the storage routes fails here (a 404 throws), it is never skipped
      expect(await a.api.request('GET', '/v1/storage')).toMatchObject({ usedBytes: expect.any(Number), quotaBytes: expect.any(Number) })
      const data = pseudoRandom(64 * MiB, 12)
      const added = await a.api.request<{ cid: string, size: number }>('POST', '/v1/artifacts', { query: { name: 'full-node.bin' }, body: data })
      expect(added.size).toBe(64 * MiB)
      const res = await b.api.fetch('GET', `/v1/artifacts/${added.cid}`)
      expect(await bodyHash(res)).toEqual({ sha: sha256(data), bytes: 64 * MiB })
    } finally {
      await mesh.close()
    }
  }, 120_000)
})
