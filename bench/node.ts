/**
 * Node benchmarks (issue [node]): cold start to listening, idle RSS, admin API latency under load, and gossip
 * propagation across 10 nodes. Each figure is printed beside a baseline measured in the same run:
 *   - start / RSS: a bare libp2p peer built from the same modules (createMeshLibp2p), in its own process;
 *   - API latency: a plain node:http server answering the same JSON at the same rate;
 *   - gossip: bare gossipsub peers (no meshnode validators) in the same 10-node topology.
 * Prints one JSON object. `--quick` shortens everything (smoke test).
 */
import '../src/node/polyfills.js'
import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { multiaddr } from '@multiformats/multiaddr'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { Mesh, BIN, REPO_ROOT, waitFor } from '../test/harness/index.js'
import { createMeshLibp2p, type MeshLibp2p } from '../src/node/libp2p.js'
import { installProcessGuard } from '../src/node/process-guard.js'
import { createLogger } from '../src/node/logger.js'

if (process.argv.includes('--help')) {
  process.stdout.write(`usage: npx tsx bench/node.ts [--quick] [--only start,api,gossip]
  cold start to listening and idle RSS (beside a bare libp2p peer), admin API latency at 1,000 req/s (beside plain
  node:http), gossip propagation across 10 nodes at 1 KiB and 1 MiB (beside bare gossipsub); prints one JSON object
`)
  process.exit(0)
}
const quick = process.argv.includes('--quick')
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))]
}
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d

async function rssMB (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
}

/** Spawn a process, time it until `ready` matches its stdout, let it idle, read its RSS, stop it. */
async function measureProcess (args: string[], ready: RegExp, idleMs: number): Promise<{ startMs: number, rssMB: number }> {
  const t0 = performance.now()
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', d => { out += String(d) })
  child.stderr.on('data', d => { out += String(d) })
  await waitFor(() => ready.test(out), { timeoutMs: 60_000, intervalMs: 5, what: `start of ${args.join(' ')}: ${out.slice(-300)}` })
  const startMs = performance.now() - t0
  await new Promise(resolve => setTimeout(resolve, idleMs))
  const rss = await rssMB(child.pid as number)
  const exited = new Promise(resolve => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
  return { startMs, rssMB: rss }
}

async function startAndRss (): Promise<Record<string, unknown>> {
  const runs = quick ? 1 : 3
  const idle = quick ? 500 : 5000
  const mesh = new Mesh()
  const node = [] as Array<{ startMs: number, rssMB: number }>
  const bare = [] as Array<{ startMs: number, rssMB: number }>
  try {
    const dataDir = (await mesh.add({ mode: 'inprocess' })).dataDir
    await mesh.nodes[0].stop()
    for (let i = 0; i < runs; i++) {
      node.push(await measureProcess([BIN, 'start', '--data-dir', dataDir, '--no-benchmark'], /listening on/, idle))
      bare.push(await measureProcess(['dist/bench/fixtures/bare-libp2p.js'], /listening/, idle))
    }
  } finally { await mesh.close() }
  const med = (xs: number[]): number => round(pct(xs, 50))
  return {
    coldStartMs: med(node.map(r => r.startMs)),
    idleRssMB: med(node.map(r => r.rssMB)),
    baseline: { bareLibp2pStartMs: med(bare.map(r => r.startMs)), bareLibp2pRssMB: med(bare.map(r => r.rssMB)) },
    targets: { coldStartMs: 1500, idleRssMB: 150 },
    note: 'process spawn to "listening" line (includes Node + tsx start-up); RSS after idling; median of runs'
  }
}

async function loadTest (url: string, headers: Record<string, string>, rate: number, seconds: number): Promise<{ p50: number, p99: number, rps: number, errors: number, non2xx: number }> {
  const r = await autocannon({ url, headers, connections: 10, overallRate: rate, duration: seconds })
  return { p50: r.latency.p50, p99: r.latency.p99, rps: round(r.requests.average), errors: r.errors, non2xx: r.non2xx }
}

async function apiLatency (): Promise<Record<string, unknown>> {
  const seconds = quick ? 2 : 10
  const mesh = await Mesh.start(1, { mode: 'process' })
  try {
    const api = { baseUrl: mesh.nodes[0].api.baseUrl, token: (await readFile(join(mesh.nodes[0].dataDir, 'admin.token'), 'utf8')).trim() }
    // steady state: after start the daemon probes its training backend in a short-lived child process
    // (TensorFlow.js start-up, a second or two of CPU); load-testing during it measures that, not the API
    await waitFor(async () => ((await mesh.nodes[0].api.request('GET', '/v1/hardware')) as { tfjs: { backend: string } }).tfjs.backend !== 'pending', { timeoutMs: 60_000, what: 'backend probe' })
    const ours = await loadTest(`${api.baseUrl}/v1/node`, { authorization: `Bearer ${api.token}` }, 1000, seconds)
    const body = await mesh.nodes[0].api.request('GET', '/v1/node')
    const server = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)) })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    const base = await loadTest(`http://127.0.0.1:${port}/`, {}, 1000, seconds)
    server.closeAllConnections()
    server.close()
    return { route: 'GET /v1/node (auth, schema-serialised)', rate: 1000, ...ours, baseline: { server: 'plain node:http, same JSON', ...base }, targets: { p99Ms: 10 } }
  } finally { await mesh.close() }
}

/** Publish `count` messages of `size` bytes from node 0 and record each other node's receive delay. */
async function propagate (publish: (data: Uint8Array) => Promise<void>, subscribe: (onMessage: (data: Uint8Array) => void) => void, receivers: number, size: number, count: number): Promise<{ p50: number, p99: number, delivered: number, expected: number }> {
  const delays: number[] = []
  subscribe(data => {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
    delays.push(performance.timeOrigin + performance.now() - view.getFloat64(0))
  })
  for (let i = 0; i < count; i++) {
    const data = new Uint8Array(size)
    new DataView(data.buffer).setFloat64(0, performance.timeOrigin + performance.now())
    new DataView(data.buffer).setUint32(8, i)
    // a publish that never settles (seen once a peer connection was reset) must not stall the bench
    await Promise.race([publish(data), new Promise(resolve => setTimeout(resolve, 10_000))])
    await waitFor(() => delays.length >= (i + 1) * receivers, { timeoutMs: 10_000, intervalMs: 2, what: `message ${i}` }).catch(() => {})
  }
  return { p50: round(pct(delays, 50), 2), p99: round(pct(delays, 99), 2), delivered: delays.length, expected: count * receivers }
}

const BENCH_TOPIC = 'meshnode/bench/1'

/**
 * Dial until connected. libp2p refuses more than 5 inbound connections per second from one host (its
 * inboundConnectionThreshold), and here every peer is 127.0.0.1: a refused dial is retried after a pause.
 */
async function dialRetrying (from: MeshLibp2p, to: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await from.dial(multiaddr(to))
      return
    } catch (err) {
      if (attempt >= 10) throw err
      await new Promise(resolve => setTimeout(resolve, 250 * attempt))
    }
  }
}

async function gossip (): Promise<Record<string, unknown>> {
  const n = 10
  const counts = { small: quick ? 10 : 100, large: quick ? 3 : 20 }
  const out: Record<string, unknown> = { nodes: n, note: 'in one process on loopback; each delay is publish on node 0 to delivery on a receiver' }
  // nodes join one after another: ten simultaneous starts in one process trip a @libp2p/tcp abort race
  const mesh = new Mesh()
  try {
    const first = await mesh.add({ mode: 'inprocess' })
    for (let i = 1; i < n; i++) await mesh.add({ mode: 'inprocess', bootstrap: first.addresses })
    const nodes = mesh.nodes.map((_h, i) => mesh.meshNode(i))
    // the same full topology as the baseline: every pair dialled explicitly
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) await dialRetrying(nodes[i].libp2p, mesh.nodes[j].addresses[0])
    }
    await waitFor(() => nodes.every(x => x.libp2p.getPeers().length >= n - 1), { timeoutMs: 30_000, what: 'full mesh' })
    // each receiver delivers to whichever run is listening now
    const listeners: Array<(d: Uint8Array) => void> = []
    const fanIn = (d: Uint8Array): void => { for (const l of listeners) l(d) }
    for (const x of nodes.slice(1)) x.gossip.register({ topic: BENCH_TOPIC, validate: d => d, deliver: fanIn })
    nodes[0].gossip.register({ topic: BENCH_TOPIC, validate: d => d, deliver: () => {} })
    await waitFor(() => nodes[0].libp2p.services.pubsub.getSubscribers(BENCH_TOPIC).length >= n - 1, { what: 'subscribers' })
    await new Promise(resolve => setTimeout(resolve, 1500)) // let the gossipsub mesh graft (heartbeat)
    const run = async (size: number, count: number): Promise<unknown> => {
      listeners.length = 0
      return await propagate(async d => { await nodes[0].gossip.publish(BENCH_TOPIC, d) }, l => { listeners.push(l) }, n - 1, size, count)
    }
    out.kib1 = await run(1024, counts.small)
    process.stderr.write(`bench node: 1 KiB across ${n} nodes ${JSON.stringify(out.kib1)}\n`)
    out.mib1 = await run(1024 * 1024, counts.large)
  } finally { await mesh.close() }

  // baseline: bare gossipsub peers from the same factory, same topology, no meshnode layers
  const peers: MeshLibp2p[] = []
  try {
    for (let i = 0; i < n; i++) {
      peers.push(await createMeshLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], ipColocationThreshold: 1000 }))
    }
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) await dialRetrying(peers[i], peers[j].getMultiaddrs()[0].toString())
    for (const p of peers) p.services.pubsub.subscribe(BENCH_TOPIC)
    await waitFor(() => peers[0].services.pubsub.getSubscribers(BENCH_TOPIC).length >= n - 1, { what: 'bare subscribers' })
    await new Promise(resolve => setTimeout(resolve, 1500))
    const listeners: Array<(d: Uint8Array) => void> = []
    for (const p of peers.slice(1)) p.services.pubsub.addEventListener('message', evt => { if (evt.detail.topic === BENCH_TOPIC) for (const l of listeners) l(evt.detail.data) })
    const run = async (size: number, count: number): Promise<unknown> => {
      listeners.length = 0
      return await propagate(async d => { await peers[0].services.pubsub.publish(BENCH_TOPIC, d) }, l => { listeners.push(l) }, n - 1, size, count)
    }
    out.baseline = { kib1: await run(1024, counts.small), mib1: await run(1024 * 1024, counts.large) }
  } finally { for (const p of peers) await p.stop() }
  out.targets = { kib1P99Ms: 100 }
  return out
}

// ten in-process nodes share this process: survive stray socket errors as the daemon does
installProcessGuard(createLogger({ level: 'warn', format: 'json', destination: 2 }))
const result: Record<string, unknown> = { bench: 'node', node: process.version, quick }
// `--only start,api,gossip` runs a subset
const onlyArg = process.argv.indexOf('--only')
const parts = new Set(onlyArg >= 0 ? process.argv[onlyArg + 1].split(',') : ['start', 'api', 'gossip'])
// the guard above survives socket errors, and would also swallow one that reached the top level: catch it here
try {
  if (parts.has('start')) { process.stderr.write('bench node: start and RSS...\n'); result.start = await startAndRss() }
  if (parts.has('api')) { process.stderr.write('bench node: API latency...\n'); result.api = await apiLatency() }
  if (parts.has('gossip')) { process.stderr.write('bench node: gossip propagation...\n'); result.gossip = await gossip() }
} catch (err) {
  process.stderr.write(`bench node: failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(1)
}
process.stdout.write(JSON.stringify(result, null, 2) + '\n')
process.exit(0)
