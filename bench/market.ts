/**
 * Matching engine throughput on a 100k-order book, printed as ONE JSON object.
 * Run: npx tsx bench/market.ts [--quick]
 *
 * Operations (orders or plans per CPU second, median of RUNS runs after a warm-up): insert 100k orders into an empty book
 * (prices on a 1,000-tick grid, and a worst case with every price distinct), cancel them all in random order, expire
 * them all, plan takers' fills (20 units) against the full book, and match incoming crossing orders. The same-run
 * baseline is Array.prototype.sort of the same orders by price then arrival: what sorting the book from scratch costs.
 * Also: EIP-712 order signature checks per second, uncached and cached (OrderVerifier).
 */
import { Wallet, getAddress } from 'ethers'
import { OrderBook, OrderVerifier, signComputeMessage, validateOrderMessage } from '../src/ledger/market/index.js'
import type { BookOrder, ComputeOrderMessage } from '../src/ledger/market/index.js'

if (process.argv.includes('--help')) {
  process.stdout.write('usage: npx tsx bench/market.ts [--quick]\n  order book throughput (insert, cancel, expire, planFill, match) on a 100k-order book beside Array.prototype.sort of the same orders, and EIP-712 order checks per second; one JSON object\n  --quick  10k orders, fewer runs\n')
  process.exit(0)
}

const QUICK = process.argv.includes('--quick')
const N = QUICK ? 10_000 : 100_000
const RUNS = QUICK ? 3 : 5
const PLANS = QUICK ? 2_000 : 20_000
const SIGS = QUICK ? 50 : 200
const NOW = 1_000_000n

/** A small deterministic PRNG (mulberry32), so every run builds the same book. */
function rng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function makeOrders (distinct: boolean): Array<BookOrder<null>> {
  const r = rng(42)
  return Array.from({ length: N }, (_, i) => {
    const side = r() < 0.5 ? 'ask' : 'bid'
    // asks 1001..2000, bids 1..1000: a realistic uncrossed book; distinct: every order its own price level
    const tick = distinct ? BigInt(i) * 2n + (side === 'ask' ? 1n : 0n) : BigInt(1 + Math.floor(r() * 1000))
    const price = distinct ? (side === 'ask' ? 10_000_000n + tick : tick + 1n) : (side === 'ask' ? 1000n + tick : tick)
    const units = BigInt(1 + Math.floor(r() * 100))
    return {
      hash: `0x${i.toString(16).padStart(64, '0')}`,
      maker: `m${Math.floor(r() * 500)}`,
      side,
      price,
      units,
      minFill: r() < 0.2 ? units / 2n : 1n,
      expiry: NOW + BigInt(1 + Math.floor(r() * 10_000)),
      nonceLane: 0n,
      laneNonce: 0n,
      payload: null
    }
  })
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1]
}

/** Process CPU milliseconds (user + system) since `since`. */
function cpuMs (since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since)
  return (d.user + d.system) / 1000
}

/**
 * Median CPU ms of `RUNS` runs of `run(setup())` after one warm-up; setup is not timed. CPU time rather than wall
 * time: the benchmark is single-threaded, and the machines it runs on are shared (wall time measures the neighbours).
 */
function time<S> (setup: () => S, run: (s: S) => void): number {
  run(setup())
  const ms: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const s = setup()
    const t0 = process.cpuUsage()
    run(s)
    ms.push(cpuMs(t0))
  }
  return median(ms)
}

const round = (x: number): number => Math.round(x)
const perSec = (count: number, ms: number): number => round(count / (ms / 1000))

function filled (orders: Array<BookOrder<null>>): OrderBook<null> {
  const b = new OrderBook<null>()
  for (const o of orders) b.insert(o, NOW)
  return b
}

const grid = makeOrders(false)
const distinct = makeOrders(true)
const shuffled = (() => {
  const r = rng(7)
  const a = grid.map(o => o.hash)
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1))
    ;[a[i], a[j]] = [a[j], a[i]]
  }
  return a
})()

// baseline: sort the same orders by price then arrival, as a fresh copy each run
const sortMs = time(() => grid.map((o, seq) => ({ o, seq })), a => {
  a.sort((x, y) => x.o.side !== y.o.side ? (x.o.side < y.o.side ? -1 : 1) : x.o.price === y.o.price ? x.seq - y.seq : (x.o.price < y.o.price ? -1 : 1))
})
const insertMs = time(() => new OrderBook<null>(), b => { for (const o of grid) b.insert(o, NOW) })
const insertDistinctMs = time(() => new OrderBook<null>(), b => { for (const o of distinct) b.insert(o, NOW) })
const cancelMs = time(() => filled(grid), b => { for (const h of shuffled) b.cancel(h) })
const expireMs = time(() => filled(grid), b => { b.expire(NOW + 20_000n) })
const planMs = time(() => filled(grid), b => {
  for (let i = 0; i < PLANS; i++) b.planFill(i % 2 === 0 ? 'buy' : 'sell', 20n, i % 2 === 0 ? 2000n : 1n, { now: NOW, taker: 'taker' })
})
// incoming orders that cross the best price by a little: each takes from the top and may rest its rest
const incoming = (() => {
  const r = rng(9)
  return Array.from({ length: PLANS }, (_, i): BookOrder<null> => {
    const side = i % 2 === 0 ? 'bid' : 'ask'
    return { hash: `in${i}`, maker: 'taker', side, price: side === 'bid' ? 1010n : 990n, units: BigInt(1 + Math.floor(r() * 40)), minFill: 1n, expiry: NOW + 100n, nonceLane: 0n, laneNonce: 0n, payload: null }
  })
})()
let matchFills = 0
const matchMs = time(() => filled(grid), b => {
  matchFills = 0
  for (const o of incoming) matchFills += b.match(o, NOW).plan.fills.length
})

// EIP-712 checks: sign SIGS distinct orders once, then verify them with a fresh verifier (misses) and again (hits)
const wallet = new Wallet('0x' + '42'.repeat(32))
const contract = getAddress('0x' + 'ab'.repeat(20))
const chainId = 31337n
const messages: ComputeOrderMessage[] = []
for (let i = 0; i < SIGS; i++) {
  messages.push(await signComputeMessage(wallet, { market: 'compute', chainId, contract, peer: '12D3KooWBench' }, {
    side: 'ask', resourceClass: '0x' + '01'.repeat(32), pricePerUnit: String(1000 + i), maxUnits: '60', minFill: '1',
    windowStart: '0', windowEnd: '4000000000', expiry: '4000000000', nonceLane: '0', laneNonce: '0'
  }, BigInt(i)))
}
const verifier = new OrderVerifier(chainId, contract)
const ctx = { market: { name: 'compute' as const, kind: 'compute' as const }, chainId, contract, now: 1_000n, verifier }
let t0 = process.cpuUsage()
for (const m of messages) if (!validateOrderMessage(m, ctx).ok) throw new Error('bench order did not verify')
const uncachedMs = cpuMs(t0)
t0 = process.cpuUsage()
for (let k = 0; k < 10; k++) for (const m of messages) validateOrderMessage(m, ctx)
const cachedMs = cpuMs(t0) / 10

process.stdout.write(JSON.stringify({
  orders: N,
  runs: RUNS,
  clock: 'process CPU time (user + system), median of runs',
  baseline: { name: 'Array.prototype.sort of the same orders by side, price, arrival', ms: Number(sortMs.toFixed(2)), ordersPerSec: perSec(N, sortMs) },
  insert: { ms: Number(insertMs.toFixed(2)), ordersPerSec: perSec(N, insertMs), vsSort: Number((sortMs / insertMs).toFixed(2)) },
  insertDistinctPrices: { ms: Number(insertDistinctMs.toFixed(2)), ordersPerSec: perSec(N, insertDistinctMs), levels: N },
  cancel: { ms: Number(cancelMs.toFixed(2)), ordersPerSec: perSec(N, cancelMs) },
  expireAll: { ms: Number(expireMs.toFixed(2)), ordersPerSec: perSec(N, expireMs) },
  planFill: { plans: PLANS, unitsEach: 20, ms: Number(planMs.toFixed(2)), plansPerSec: perSec(PLANS, planMs) },
  match: { incoming: PLANS, fills: matchFills, ms: Number(matchMs.toFixed(2)), ordersPerSec: perSec(PLANS, matchMs) },
  signatures: {
    orders: SIGS,
    uncachedPerSec: perSec(SIGS, uncachedMs),
    cachedPerSec: perSec(SIGS, cachedMs),
    note: 'validateOrderMessage end to end (schema-checked record to hash and recovery); cached: same orders again'
  }
}, null, 2) + '\n')
