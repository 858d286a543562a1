/**
 * Aggregation and delta-codec throughput on one machine, printed as ONE JSON object.
 * Run: npx tsx bench/aggregation.ts
 *
 * Each figure is the median of RUNS timed runs after one warm-up. The baseline is a plain Float32Array copy of the
 * same input bytes measured in the same process, so the strategies can be read as "x times a memcpy".
 */
import { aggregate, type AggregationSpec, type WeightedUpdate } from '../src/training/core/aggregate.js'
import { decodeDelta, encodeDelta, type CompressionSpec } from '../src/training/core/codec.js'
import { createRng } from '../src/training/core/rng.js'

if (process.argv.includes('--help')) {
  process.stdout.write('usage: npx tsx bench/aggregation.ts\n  aggregation and delta-codec throughput (10 updates of 1M parameters), one JSON object\n')
  process.exit(0)
}

const UPDATES = 10
const PARAMS = 1_000_000
const RUNS = 5

/** Median wall time in ms of `RUNS` calls after one warm-up call. */
function time (f: () => unknown): number {
  f()
  const ms: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now()
    f()
    ms.push(performance.now() - t0)
  }
  ms.sort((a, b) => a - b)
  return ms[RUNS >> 1]
}

const round = (x: number, digits = 2): number => Number(x.toFixed(digits))
const gbps = (bytes: number, ms: number): number => round(bytes / (ms / 1000) / 1e9, 3)

const rng = createRng(20240601)
const target = Float32Array.from({ length: PARAMS }, () => rng.normal() * 0.01)
const updates: WeightedUpdate[] = Array.from({ length: UPDATES }, (_, i) => ({
  id: `peer-${i}`,
  weight: 100 + i,
  data: Float32Array.from(target, x => x + rng.normal() * 0.001)
}))
const inputBytes = UPDATES * PARAMS * 4

const copyDst = new Float32Array(UPDATES * PARAMS)
const copyMs = time(() => {
  for (let i = 0; i < UPDATES; i++) copyDst.set(updates[i].data, i * PARAMS)
})

const strategies: Record<string, AggregationSpec> = {
  fedavg: { kind: 'fedavg' },
  median: { kind: 'median' },
  'trimmed-mean(beta=0.1)': { kind: 'trimmed-mean', beta: 0.1 },
  'krum(f=2,m=8)': { kind: 'krum', f: 2 }
}
const aggregation: Record<string, { ms: number, GBps: number, xCopy: number }> = {}
for (const [name, spec] of Object.entries(strategies)) {
  const ms = time(() => aggregate(spec, updates))
  aggregation[name] = { ms: round(ms), GBps: gbps(inputBytes, ms), xCopy: round(ms / copyMs, 1) }
}
const clipMs = time(() => aggregate({ kind: 'fedavg' }, updates, { clipNorm: 0.5 }))
aggregation['fedavg+clipNorm'] = { ms: round(clipMs), GBps: gbps(inputBytes, clipMs), xCopy: round(clipMs / copyMs, 1) }

const codecSpecs: Record<string, CompressionSpec> = {
  fp32: { kind: 'fp32' },
  fp16: { kind: 'fp16' },
  'int8(block=256)': { kind: 'int8' },
  'topk(0.01)': { kind: 'topk', fraction: 0.01 }
}
const delta = updates[0].data
const codecs: Record<string, { bytes: number, ratioVsFp32: number, encodeMs: number, decodeMs: number }> = {}
for (const [name, spec] of Object.entries(codecSpecs)) {
  const bytes = encodeDelta(delta, spec)
  codecs[name] = {
    bytes: bytes.length,
    ratioVsFp32: round((PARAMS * 4) / bytes.length, 3),
    encodeMs: round(time(() => encodeDelta(delta, spec))),
    decodeMs: round(time(() => decodeDelta(bytes, { maxElements: PARAMS })))
  }
}

console.log(JSON.stringify({
  bench: 'aggregation',
  node: process.version,
  updates: UPDATES,
  params: PARAMS,
  inputBytes,
  runs: `median of ${RUNS} after 1 warm-up`,
  baseline: { copyMs: round(copyMs), copyGBps: gbps(inputBytes, copyMs) },
  aggregation,
  codecs
}, null, 2))
