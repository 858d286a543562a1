/**
 * Soak benchmark (issue [scale]): N meshnode daemons started through the CLI (`meshnode init`, then `meshnode start`
 * with default options; only the listen address and API port are per-node, mDNS is off unless `--mdns` (multicast
 * leaves the machine) and the ledger's embedded chain unless `--ledger` (it is not the mesh under test)), each
 * bootstrapped to the first, started one after another (each joins the running mesh). Then, per mesh:
 *   - start-up: spawn to the "listening" line, per node; the last node is started once the others have settled and
 *     come to rest (under 3% of a core each on average), so `lastNodeStartMs` is a node joining a running mesh;
 *     with `--joins K`, K - 1 more new identities join the mesh at rest after the load phases (`joinMsMedian`);
 *   - idle: CPU time from /proc/<pid>/stat over `--idle` seconds with nothing to do (percent of one core), RSS, and
 *     the counters of /metrics that grew meanwhile (per node per minute: what still runs) and the connections opened
 *     and closed meanwhile (`/v1/events`);
 *   - load: 1 KiB artifacts added round-robin through the admin API at `--rate` per second for `--seconds`, on a
 *     fixed schedule; every node's `/v1/events` records `artifact.announced`; delivery to every other node, latency
 *     from the scheduled publish to the receiving node's event, add latency, event-loop lag p99 per node (from
 *     /metrics over the load window: how late the delay monitor's timer fired, its resolution subtracted, in both
 *     meshes), CPU and RSS under load.
 * The baseline, in the same run: the same figures for N bare libp2p + gossipsub peers (bench/fixtures/soak-peer.ts)
 * publishing the same 1 KiB messages on the same schedule. Prints one JSON object.
 */
import '../src/node/polyfills.js'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { BIN, REPO_ROOT, waitFor } from '../test/harness/index.js'
import { buildDaemon } from '../scripts/bundle.js'
import { Receipts, cpuPercent, cpuSeconds, onSchedule, pct, round, rssMB, watchAnnouncements, watchEvents } from './fixtures/soak-driver.js'

const USAGE = `usage: npx tsx bench/soak.ts [--nodes N] [--rate R[,R2...]] [--seconds S] [--idle S] [--idle-after S] [--joins K] [--mdns] [--ledger] [--only meshnode|bare] [--quick]
  N meshnode daemons (CLI, default options; mDNS and the ledger's embedded chain off unless --mdns / --ledger) in one
  mesh; 1 KiB artifacts added round-robin at R/s for S s (each rate in turn on the same mesh); prints
  delivery, publish->receipt latency, add latency, idle CPU (% of a core, /proc), RSS, start-up per node and
  event-loop lag p99 per node, beside a bare libp2p + gossipsub mesh of the same size (same run, same schedule).
  --idle-after S: the idle window starts S s after the last node listened (default 60).
  --joins K: K joins of a new node to the mesh at rest (the last node, then K - 1 more after the load; median).
  Defaults (also --quick, for npm run bench): --nodes 8 --rate 10 --seconds 20 --idle 20 --joins 1.
  The issue's figures: --nodes 20 --rate 25,50 --seconds 300.
  SOAK_SERIES=path: each message's add and receipt latencies, a JSON line each, to path.<mesh>.<rate>.jsonl.
`
if (process.argv.includes('--help')) { process.stdout.write(USAGE); process.exit(0) }
const arg = (name: string, d: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : d
}
const NODES = arg('nodes', 8)
const RATES = (() => { const i = process.argv.indexOf('--rate'); return i >= 0 ? process.argv[i + 1].split(',').map(Number) : [10] })()
const SECONDS = arg('seconds', 20)
const IDLE_S = arg('idle', 20)
const IDLE_AFTER_S = arg('idle-after', 60)
// joins of a node to the mesh at rest, each a new identity: the first is the last of the N nodes, each further one
// replaces the previous joiner (stopped, the mesh back at rest) after the load phases; the median is reported
const JOINS = Math.max(1, arg('joins', 1))
const MDNS = process.argv.includes('--mdns')
// the ledger's embedded chain (one anvil on port 8545, contracts, faucet) is not the mesh: off unless --ledger
const LEDGER = process.argv.includes('--ledger')
const onlyIdx = process.argv.indexOf('--only')
const ONLY = onlyIdx >= 0 ? process.argv[onlyIdx + 1] : undefined
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
const log = (msg: string): void => { process.stderr.write(`soak: ${msg}\n`) }

/** One member of a mesh, daemon or bare peer, as the phases drive it. */
interface Member {
  readonly pid: number
  /** Spawn to listening, ms. */
  readonly startMs: number
  readonly address: string
  peers: () => Promise<number>
  /** Resolves when start-up work after "listening" is over (the daemon's training-speed probe). */
  settled: () => Promise<void>
  /** Count the member's connection events (`peer.connected` / `peer.disconnected`) until `signal` aborts; a bare peer counts none. */
  churn: (counts: { connected: number, disconnected: number }, signal: AbortSignal) => Promise<void>
  /** Every counter (`*_total` series) the member exports, by series; empty for a bare peer. */
  counters: () => Promise<Map<string, number>>
  /** Event-loop delay since the previous call (p99 and max, ms). */
  lag: () => Promise<{ p99Ms: number, maxMs: number }>
  watch: (onReceipt: (i: number, atMs: number) => void, signal: AbortSignal) => Promise<void>
  /** Publish message i; resolves with the add's latency (ms) once the node accepted it. */
  publish: (i: number) => Promise<number>
  stop: () => Promise<void>
}

const children = new Set<ChildProcess>()
process.on('exit', () => { for (const c of children) c.kill('SIGKILL') })

/** Spawn a process and resolve once a stdout line matches `ready`; keeps its last lines for error messages. */
async function spawnUntil (args: string[], ready: RegExp, onLine?: (line: string) => void, env?: NodeJS.ProcessEnv): Promise<{ child: ChildProcess, match: RegExpExecArray, ms: number, tail: string[] }> {
  const t0 = performance.now()
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  children.add(child)
  child.once('exit', () => { children.delete(child) })
  const tail: string[] = []
  // SOAK_LOG_DIR=dir (with MESHNODE_LOG_LEVEL, DEBUG for libp2p's logs): each process's output, whole, in dir/<pid>.log
  const logFile = process.env.SOAK_LOG_DIR != null ? createWriteStream(join(process.env.SOAK_LOG_DIR, `${child.pid ?? 'unknown'}.log`)) : undefined
  const keep = (line: string): void => { logFile?.write(line + '\n'); tail.push(line); if (tail.length > 40) tail.shift() }
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', keep)
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', line => {
      keep(line)
      onLine?.(line)
      const m = ready.exec(line)
      if (m != null) resolve(m)
    })
    child.once('exit', code => { reject(new Error(`${args.join(' ')} exited with ${code}: ${tail.join('\n').slice(-2000)}`)) })
  })
  return { child, match, ms: performance.now() - t0, tail }
}

async function stopChild (child: ChildProcess): Promise<void> {
  if (child.exitCode != null || child.signalCode != null) return
  const exited = new Promise(resolve => child.once('exit', resolve))
  child.kill('SIGTERM')
  const t = setTimeout(() => child.kill('SIGKILL'), 20_000)
  await exited
  clearTimeout(t)
}

/** SOAK_PROFILE_NODES=0,19: only those daemons get SOAK_NODE_ARGS, and run dist/ unbundled (profiles name each module). */
const PROFILED = process.env.SOAK_PROFILE_NODES?.split(',').map(Number)

/** A meshnode daemon started through the CLI on a data directory made by `meshnode init`. */
async function startDaemon (index: number, dataDir: string, bootstrap: string | undefined): Promise<Member> {
  // SOAK_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof': extra Node flags for the daemons (profiling)
  const profiled = PROFILED == null || PROFILED.includes(index)
  const nodeArgs = profiled ? (process.env.SOAK_NODE_ARGS ?? '').split(' ').filter(a => a !== '') : []
  const env = { ...(LEDGER ? {} : { MESHNODE_LEDGER_ENABLED: 'false' }), ...(PROFILED != null && profiled ? { MESHNODE_NO_BUNDLE: '1' } : {}) }
  const args = [...nodeArgs, BIN, 'start', '--data-dir', dataDir, '--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', ...(MDNS ? [] : ['--no-mdns']), ...(bootstrap != null ? ['--bootstrap', bootstrap] : [])]
  const { child, match, ms } = await spawnUntil(args, /^meshnode (\S+) listening on (\S+).*; admin API (\S+)$/, undefined, env)
  const base = match[3]
  const token = (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim()
  const headers = { authorization: `Bearer ${token}` }
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(new URL(path, base), { headers })
    if (!res.ok) throw new Error(`GET ${path}: ${res.status}`)
    return (path === '/metrics' ? await res.text() : await res.json()) as T
  }
  const metric = (text: string, name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) * 1000
  return {
    pid: child.pid as number,
    startMs: ms,
    address: match[2],
    peers: async () => (await get<{ peers: unknown[] }>('/v1/peers')).peers.length,
    settled: async () => {
      // 19 probes at once, each at niceness 10 (hardware/benchmark-child.ts) behind 19 starting daemons on 2 cores:
      // 60 s was not enough for all of them on 2026-12-02
      await waitFor(async () => (await get<{ tfjs: { backend: string } }>('/v1/hardware')).tfjs.backend !== 'pending', { timeoutMs: 240_000, intervalMs: 250, what: 'the training-speed probe' })
    },
    churn: async (counts, signal) => {
      await watchEvents(base, headers, ['peer.connected', 'peer.disconnected'], type => { counts[type === 'peer.connected' ? 'connected' : 'disconnected']++ }, signal)
    },
    counters: async () => parseCounters(await get<string>('/metrics')),
    lag: async () => {
      const text = await get<string>('/metrics')
      return { p99Ms: metric(text, 'meshnode_process_nodejs_eventloop_lag_p99_seconds'), maxMs: metric(text, 'meshnode_process_nodejs_eventloop_lag_max_seconds') }
    },
    watch: async (onReceipt, signal) => {
      await watchAnnouncements(base, token, (name, at) => { const m = /^soak-(\d+)$/.exec(name); if (m != null) onReceipt(Number(m[1]), at) }, signal)
    },
    publish: async i => {
      const t0 = performance.now()
      const res = await fetch(new URL(`/v1/artifacts?name=soak-${i}`, base), { method: 'POST', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: randomBytes(1024) })
      if (!res.ok) throw new Error(`add ${i}: ${res.status} ${await res.text()}`)
      await res.arrayBuffer()
      return performance.now() - t0
    },
    stop: async () => { await stopChild(child) }
  }
}

/** A bare libp2p + gossipsub peer (bench/fixtures/soak-peer.ts), dialling every peer already running. */
async function startBare (addresses: string[]): Promise<Member> {
  let peers = 0
  let onReceipt: ((i: number, at: number) => void) | undefined
  let lagWaiter: ((l: { p99Ms: number, maxMs: number }) => void) | undefined
  const { child, match, ms } = await spawnUntil(['dist/bench/fixtures/soak-peer.js', addresses.join(',')], /^listening (\S+)$/, line => {
    const [kind, a, b] = line.split(' ')
    if (kind === 'r') onReceipt?.(Number(a), Number(b))
    else if (kind === 'peers') peers = Number(a)
    else if (kind === 'lag') lagWaiter?.({ p99Ms: Number(a), maxMs: Number(b) })
  })
  const write = (line: string): void => { child.stdin?.write(line + '\n') }
  return {
    pid: child.pid as number,
    startMs: ms,
    address: `${match[1]}`,
    peers: async () => peers,
    settled: async () => {},
    churn: async () => {},
    counters: async () => new Map(),
    lag: async () => await new Promise(resolve => { lagWaiter = resolve; write('l') }),
    watch: async (fn) => { onReceipt = fn },
    publish: async i => { write(`p ${i}`); return 0 },
    stop: async () => { await stopChild(child) }
  }
}

/**
 * Wait until the running members are at rest: their CPU over 2 s below 3% of a core per member on average (start-up work,
 * discovery's quick walks, catch-up syncs and schema warm-up over), at most 120 s. The last node then joins a mesh at
 * rest, which is what "the 20th node listening" means, instead of sharing the cores with 19 start-ups. Returns the
 * wait in ms (the limit when the mesh never came to rest: the figure then says so).
 */
async function untilQuiet (members: Member[]): Promise<number> {
  const t0 = Date.now()
  while (Date.now() - t0 < 120_000) {
    const before = members.map(m => cpuSeconds(m.pid))
    const w0 = performance.now()
    await sleep(2000)
    const used = cpuPercent(before, members.map(m => cpuSeconds(m.pid)), performance.now() - w0).reduce((a, b) => a + b, 0)
    if (used < 3 * members.length) break
  }
  return Date.now() - t0
}

/** The `*_total` series of a Prometheus exposition, by series (name and labels). */
function parseCounters (text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const m of text.matchAll(/^(\w+_total(?:\{[^}]*\})?) (\S+)$/gm)) out.set(m[1], Number(m[2]))
  return out
}

/**
 * What the mesh did between two readings of every member's counters: the series that grew, summed over members, per
 * member per minute, largest first (what runs at idle: DHT queries, pings, identify, gossip heartbeats' messages...).
 */
function counterRates (before: Array<Map<string, number>>, after: Array<Map<string, number>>, wallMs: number, top = 40): Record<string, number> {
  const sum = new Map<string, number>()
  after.forEach((a, i) => { for (const [k, v] of a) { const d = v - (before[i].get(k) ?? 0); if (d > 0) sum.set(k, (sum.get(k) ?? 0) + d) } })
  const perMemberMinute = (d: number): number => round(d / after.length / (wallMs / 60_000), 2)
  return Object.fromEntries([...sum].sort((x, y) => y[1] - x[1]).slice(0, top).map(([k, d]) => [k, perMemberMinute(d)]))
}

const stats = (xs: number[]): { mean: number, max: number } => ({ mean: round(xs.reduce((a, b) => a + b, 0) / xs.length, 2), max: round(Math.max(...xs), 2) })
const load = (): string => loadavg().map(x => x.toFixed(2)).join(' ')

let offset = 0

/** One load phase: `rate` adds per second for SECONDS on a running mesh (message ids continue across phases). */
async function loadPhase (kind: string, members: Member[], rate: number, phase: number): Promise<Record<string, unknown>> {
  log(`${kind}: load ${rate}/s for ${SECONDS} s (load ${load()})`)
  const receipts = new Receipts()
  const ac = new AbortController()
  const base = phase * 10_000_000
  await Promise.all(members.map(async (m, n) => { await m.watch((i, at) => { if (i >= base) receipts.received(i - base, n, at) }, ac.signal) }))
  await Promise.all(members.map(async m => await m.lag()))
  // connections opened and closed under load: a saturated node's pings time out and its connections are dropped
  const churn = { connected: 0, disconnected: 0 }
  await Promise.all(members.map(async m => { await m.churn(churn, ac.signal) }))
  const counters0 = await Promise.all(members.map(async m => await m.counters()))
  const count = rate * SECONDS
  // per message, in publish order: the add's latency (NaN when it failed)
  const addMs: number[] = Array<number>(count).fill(NaN)
  const addErrors: string[] = []
  const loadAtLoad = load()
  const load0 = members.map(m => cpuSeconds(m.pid))
  const driver0 = process.cpuUsage()
  const l0 = performance.now()
  const m0 = process.hrtime.bigint() / 1000n
  const fired = await onSchedule(rate, count, async (i, due) => {
    const by = i % NODES
    receipts.sent(i, due, by)
    try { addMs[i] = await members[by].publish(base + i) } catch (err) { addErrors.push((err as Error).message) }
  })
  await Promise.all(fired)
  const expected = receipts.expected(NODES)
  await waitFor(() => receipts.delivered() >= expected, { timeoutMs: 15_000, intervalMs: 100 }).catch(() => {})
  const loadCpu = cpuPercent(load0, members.map(m => cpuSeconds(m.pid)), performance.now() - l0)
  const driverCpu = process.cpuUsage(driver0)
  const added = addMs.filter(x => !Number.isNaN(x))
  const driverPercent = round((driverCpu.user + driverCpu.system) / 1000 / (performance.now() - l0) * 100, 2)
  if (process.env.SOAK_SERIES != null) await writeSeries(`${process.env.SOAK_SERIES}.${kind}.${rate}.jsonl`, receipts, addMs)
  log(`${kind}: load window ${m0}-${process.hrtime.bigint() / 1000n} µs monotonic (load ${load()})`)
  const lags = await Promise.all(members.map(async m => await m.lag()))
  const loadRss = members.map(m => round(rssMB(m.pid)))
  const loadCounters = counterRates(counters0, await Promise.all(members.map(async m => await m.counters())), performance.now() - l0)
  ac.abort()
  const lagP99 = lags.map(l => round(l.p99Ms))
  return {
    rate,
    seconds: SECONDS,
    published: count - addErrors.length,
    addErrors: addErrors.length,
    firstAddErrors: addErrors.slice(0, 3),
    addMs: { p50: round(pct(added, 50)), p99: round(pct(added, 99)) },
    ...receipts.report(NODES),
    eventLoopLagP99Ms: lagP99,
    maxEventLoopLagP99Ms: round(Math.max(...lagP99)),
    maxEventLoopLagMs: round(Math.max(...lags.map(l => l.maxMs))),
    cpuPercentOfCore: stats(loadCpu),
    // this process (the schedule, the adds' HTTP requests, every node's event stream) shares the cores
    driverCpuPercentOfCore: driverPercent,
    rssMB: stats(loadRss),
    loadavg: loadAtLoad,
    connectionEvents: kind === 'bare' ? undefined : churn,
    countersPerNodePerMinute: loadCounters
  }
}

/**
 * SOAK_SERIES=path: one JSON line per message of each load phase (to path.<kind>.<rate>.jsonl): when it was due
 * (ms from the phase's first), its publisher, the add's latency and each receipt's latency, for finding where a
 * tail comes from.
 */
async function writeSeries (path: string, receipts: Receipts, addMs: number[]): Promise<void> {
  const t0 = receipts.sentAt[0]
  const lines = receipts.sentAt.map((due, i) => JSON.stringify({
    i, dueMs: due - t0, by: receipts.publisher[i], addMs: round(addMs[i]),
    receiptMs: [...(receipts.at[i] ?? new Map<number, number>())].filter(([n]) => n !== receipts.publisher[i]).map(([, at]) => round(at - due)).sort((a, b) => a - b)
  }))
  await writeFile(path, lines.join('\n') + '\n')
}

/** Start, idle, load (each rate in turn) and stop one mesh of `NODES` members. */
async function runMesh (kind: string, start: (i: number, running: Member[]) => Promise<Member>): Promise<Record<string, unknown>> {
  const members: Member[] = []
  const loadAtStart = load()
  try {
    for (let i = 0; i < NODES - 1; i++) members.push(await start(i, members))
    // the last node joins a running mesh: the others are past their own start-up work (the training-speed probe), so
    // its figure is a join, not a share of 19 other start-ups on the same cores
    await Promise.all(members.map(async m => await m.settled()))
    const quietAfterMs = await untilQuiet(members)
    members.push(await start(NODES - 1, members))
    const listenedAt = Date.now()
    log(`${kind}: ${NODES} listening; start ms ${members.map(m => Math.round(m.startMs)).join(' ')}`)
    const formed = await waitFor(async () => (await Promise.all(members.map(async m => await m.peers()))).every(p => p >= NODES - 1), { timeoutMs: 60_000, intervalMs: 200, what: 'a full mesh' }).then(() => true, () => false)
    const formationMs = Date.now() - listenedAt
    const peerCounts = await Promise.all(members.map(async m => await m.peers()))
    await Promise.all(members.map(async m => await m.settled()))
    // idle means steady state: past each node's start-up discovery schedule (about a minute of quick DHT walks);
    // --idle-after S starts the window later (the walks' idle back-off spaces them 2, 5, 10, then 20 minutes apart)
    await sleep(Math.max(5000, listenedAt + IDLE_AFTER_S * 1000 - Date.now()))

    log(`${kind}: idle ${IDLE_S} s (load ${load()})`)
    const loadAtIdle = load()
    const counters0 = await Promise.all(members.map(async m => await m.counters()))
    const churn = { connected: 0, disconnected: 0 }
    const idleAc = new AbortController()
    await Promise.all(members.map(async m => { await m.churn(churn, idleAc.signal) }))
    const idle0 = members.map(m => cpuSeconds(m.pid))
    const w0 = performance.now()
    // the window on the monotonic clock (µs, the clock of --cpu-prof's sample timestamps): a profile can be cut to it
    const m0 = process.hrtime.bigint() / 1000n
    await sleep(IDLE_S * 1000)
    log(`${kind}: idle window ${m0}-${process.hrtime.bigint() / 1000n} µs monotonic (load ${load()})`)
    const idleCpu = cpuPercent(idle0, members.map(m => cpuSeconds(m.pid)), performance.now() - w0)
    const idleRss = members.map(m => round(rssMB(m.pid)))
    idleAc.abort()
    const idleCounters = counterRates(counters0, await Promise.all(members.map(async m => await m.counters())), performance.now() - w0)

    const phases: Array<Record<string, unknown>> = []
    for (const rate of RATES) phases.push(await loadPhase(kind, members, rate, offset++))
    const joinMs = [members[NODES - 1].startMs]
    for (let j = 1; j < JOINS; j++) {
      // the previous joiner leaves; a new identity joins the mesh once it is at rest again
      await (members.pop() as Member).stop()
      await untilQuiet(members)
      members.push(await start(NODES - 1 + j, members))
      joinMs.push(members[NODES - 1].startMs)
      log(`${kind}: join ${j + 1}/${JOINS}: ${Math.round(members[NODES - 1].startMs)} ms`)
    }
    return {
      startMs: members.map(m => round(m.startMs, 0)),
      lastNodeStartMs: round(joinMs[0], 0),
      joinMs: joinMs.map(ms => round(ms, 0)),
      joinMsMedian: round(pct(joinMs, 50), 0),
      // how long the first N-1 took to come to rest (after their start-up work) before the last one was started
      quietBeforeLastNodeMs: quietAfterMs,
      meshFormed: formed,
      formationMsAfterLastListening: formationMs,
      peerCounts,
      idle: { seconds: IDLE_S, cpuPercentOfCore: idleCpu, ...prefix('cpuPercent', stats(idleCpu)), rssMB: stats(idleRss), loadavg: loadAtIdle, connectionEvents: kind === 'bare' ? undefined : churn, countersPerNodePerMinute: idleCounters },
      load: phases,
      loadavgAtStart: loadAtStart
    }
  } finally {
    await Promise.all(members.map(async m => await m.stop()))
  }
}

function prefix (p: string, o: { mean: number, max: number }): Record<string, number> {
  return { [`${p}Mean`]: o.mean, [`${p}Max`]: o.max }
}

async function main (): Promise<void> {
  // the daemons run the build as installed (the bundle of dist/); build it like the integration tests' global setup
  await buildDaemon()
  const result: Record<string, unknown> = {
    config: { nodes: NODES, rates: RATES, seconds: SECONDS, idleSeconds: IDLE_S, idleAfterSeconds: IDLE_AFTER_S, joins: JOINS, mdns: MDNS, ledger: LEDGER, artifactBytes: 1024, cores: spawnSync('nproc', { encoding: 'utf8' }).stdout.trim() },
    uptimeBefore: spawnSync('uptime', { encoding: 'utf8' }).stdout.trim()
  }
  if (ONLY !== 'bare') {
    const root = await mkdtemp(join(tmpdir(), 'meshnode-soak-'))
    try {
      const dirs = Array.from({ length: NODES + JOINS - 1 }, (_, i) => join(root, `node-${i}`))
      // `meshnode init` derives the key (a third of a second of CPU each): not part of a node's start
      for (let i = 0; i < dirs.length; i += 4) {
        await Promise.all(dirs.slice(i, i + 4).map(async d => { await spawnUntil([BIN, 'init', '--data-dir', d, '--json'], /"peerId"/) }))
      }
      result.meshnode = await runMesh('meshnode', async (i, running) => await startDaemon(i, dirs[i], running[0]?.address))
    } finally { await rm(root, { recursive: true, force: true }) }
  }
  if (ONLY !== 'meshnode') result.baseline = { what: 'bare libp2p + gossipsub peers (bench/fixtures/soak-peer.ts), each dialling every peer already running', ...await runMesh('bare', async (_i, running) => await startBare(running.map(m => m.address))) }
  result.targets = { idleCpuPercentOfCore: 1, deliveredPct: 100, latencyP99Ms: 1000, eventLoopLagP99Ms: 100, lastNodeStartMs: 3000, joinMsMedian: 3000 }
  result.uptimeAfter = spawnSync('uptime', { encoding: 'utf8' }).stdout.trim()
  process.stdout.write(JSON.stringify(result, null, 2) + '\n')
}

await main().then(() => process.exit(0), err => { process.stderr.write(`soak failed: ${(err as Error).stack ?? String(err)}\n`); process.exit(1) })
