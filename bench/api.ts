/**
 * Admin API throughput (issue [hardening] defect 12): `GET /v1/node` and `GET /v1/peers` on a real in-process node
 * (auth, Host check, schemas, serializer, metrics hook: everything a client goes through), each beside a bare
 * fastify route returning the same JSON, measured in the same run with autocannon (10 connections, run in its own
 * process so the client does not share the server's event loop). Prints one JSON object with both figures and the
 * ratio. `--quick` shortens the runs (smoke test); `--help` prints this and runs nothing.
 */
import '../src/node/polyfills.js'
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import Fastify from 'fastify'
import { Mesh, REPO_ROOT, waitFor } from '../test/harness/index.js'

const USAGE = `usage: tsx bench/api.ts [--quick] [--help]
  Measures req/s and latency of GET /v1/node and GET /v1/peers on a real node beside a bare fastify route returning
  the same JSON (autocannon, 10 connections, same run). Prints JSON: per route { api, bare (mean figures),
  ratio (median of back-to-back pairs' api/bare req/s), pairRatios }.
  --quick   one 2 s pair instead of four 5 s pairs (smoke test)`

if (process.argv.includes('--help')) {
  process.stdout.write(USAGE + '\n')
  process.exit(0)
}

const quick = process.argv.includes('--quick')
const CONNECTIONS = 10
const DURATION_S = quick ? 2 : 5
const ROUNDS = quick ? 1 : 4

interface Load { rps: number, p50Ms: number, p99Ms: number, errors: number, non2xx: number }

/** One autocannon run in a child process. */
async function load (url: string, headers: Record<string, string>, seconds: number): Promise<Load> {
  const args = [join(REPO_ROOT, 'node_modules/autocannon/autocannon.js'), '-c', String(CONNECTIONS), '-d', String(seconds), '-j',
    ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}=${v}`]), url]
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', d => { out += String(d) })
  const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
  if (code !== 0) throw new Error(`autocannon exited with ${code}`)
  const r = JSON.parse(out)
  return { rps: r.requests.average, p50Ms: r.latency.p50, p99Ms: r.latency.p99, errors: r.errors, non2xx: r.non2xx }
}

const mean = (xs: Load[]): Load => {
  const avg = (f: (l: Load) => number): number => Math.round(xs.reduce((a, l) => a + f(l), 0) / xs.length * 100) / 100
  return { rps: avg(l => l.rps), p50Ms: avg(l => l.p50Ms), p99Ms: avg(l => l.p99Ms), errors: avg(l => l.errors), non2xx: avg(l => l.non2xx) }
}

/**
 * Wait until the process is quiet: a node just started spends its first seconds on libp2p's and Helia's start-up
 * (DHT bootstrap, identify, peer-store writes), which an operator's later polling never meets; measuring then
 * charged that one-off work to whichever route came first (0.3-0.5x for the first, 0.7-0.96x for the second).
 * Quiet = two consecutive 500 ms windows under 15% of a core, at most 20 s. Returns how long it took.
 */
async function settle (): Promise<{ settledAfterMs: number, cpuShare: number }> {
  const start = Date.now()
  let quiet = 0
  let share = 1
  while (Date.now() - start < 20_000 && quiet < 2) {
    const before = process.cpuUsage()
    await new Promise(resolve => setTimeout(resolve, 500))
    const used = process.cpuUsage(before)
    share = (used.user + used.system) / 1000 / 500
    quiet = share < 0.15 ? quiet + 1 : 0
  }
  return { settledAfterMs: Date.now() - start, cpuShare: Math.round(share * 100) / 100 }
}

async function main (): Promise<void> {
  const mesh = await Mesh.start(2, { mode: 'inprocess' })
  const bare = Fastify({ logger: false })
  try {
    const node = mesh.nodes[0]
    const token = (await readFile(join(node.dataDir, 'admin.token'), 'utf8')).trim()
    const auth = { authorization: `Bearer ${token}` }
    await waitFor(async () => (await node.api.request<{ peers: unknown[] }>('GET', '/v1/peers')).peers.length === 1, { what: 'the second node' })
    // the bare routes answer the very JSON the node answers now
    const bodies: Record<string, unknown> = {}
    for (const path of ['/v1/node', '/v1/peers']) {
      bodies[path] = await node.api.request('GET', path)
      bare.get(path, async () => bodies[path])
    }
    await bare.listen({ host: '127.0.0.1', port: 0 })
    const addr = bare.server.address()
    const bareUrl = `http://127.0.0.1:${typeof addr === 'object' && addr != null ? addr.port : 0}`
    const apiUrl = new URL(node.api.baseUrl).origin

    const settled = await settle()
    const results: Record<string, unknown> = {}
    for (const path of ['/v1/node', '/v1/peers']) {
      // warm both (JIT, connection pools), then alternate so drift hits both alike
      await load(apiUrl + path, auth, 2)
      await load(bareUrl + path, {}, 2)
      const api: Load[] = []
      const plain: Load[] = []
      const ratios: number[] = []
      // back-to-back pairs, alternating which goes first: on a shared machine the load drifts between runs, and the
      // median of the pairs' ratios is steadier than the ratio of the means
      for (let i = 0; i < ROUNDS; i++) {
        const first = i % 2 === 0
        const b0 = first ? undefined : await load(bareUrl + path, {}, DURATION_S)
        const a = await load(apiUrl + path, auth, DURATION_S)
        const b = b0 ?? await load(bareUrl + path, {}, DURATION_S)
        api.push(a)
        plain.push(b)
        ratios.push(a.rps / b.rps)
      }
      const median = [...ratios].sort((x, y) => x - y)[Math.floor((ratios.length - 1) / 2)]
      results[`GET ${path}`] = { api: mean(api), bare: mean(plain), ratio: Math.round(median * 100) / 100, pairRatios: ratios.map(r => Math.round(r * 100) / 100) }
    }
    process.stdout.write(JSON.stringify({
      connections: CONNECTIONS,
      durationSec: DURATION_S,
      rounds: ROUNDS,
      target: 'api.rps >= 0.6 x bare.rps',
      baseline: 'a bare fastify route on the same machine returning the same JSON, measured in the same run',
      settled,
      ...results
    }, null, 2) + '\n')
  } finally {
    await bare.close()
    await mesh.close()
  }
}

await main()
