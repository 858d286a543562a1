import { describe, expect, it } from 'vitest'
import { createNodeMetrics } from '../../../src/node/metrics.js'
import { EVENT_LOOP_RESOLUTION_MS, lagSeconds, type DelayHistogram } from '../../../src/node/metrics-event-loop.js'

const ms = 1e6
const hist = (count: number, min: number, max: number, mean: number, stddev: number, pct: Record<number, number>): DelayHistogram =>
  ({ count, min, max, mean, stddev, percentile: p => pct[p] })

describe('lagSeconds', () => {
  it.each([
    ['an idle loop: every interval is the resolution, so nothing is late', hist(20, 50.1 * ms, 50.4 * ms, 50.2 * ms, 0.1 * ms, { 50: 50.2 * ms, 90: 50.3 * ms, 99: 50.4 * ms }), 50,
      { min: 0.0001, max: 0.0004, mean: 0.0002, stddev: 0.0001, p50: 0.0002, p90: 0.0003, p99: 0.0004 }],
    ['a 250 ms stall: the late wakeup reads 200 ms', hist(5, 50 * ms, 250 * ms, 90 * ms, 80 * ms, { 50: 50 * ms, 90: 250 * ms, 99: 250 * ms }), 50,
      { min: 0, max: 0.2, mean: 0.04, stddev: 0.08, p50: 0, p90: 0.2, p99: 0.2 }],
    ['an early wakeup never reads negative', hist(3, 49 * ms, 51 * ms, 50 * ms, 1 * ms, { 50: 49.5 * ms, 90: 51 * ms, 99: 51 * ms }), 50,
      { min: 0, max: 0.001, mean: 0, stddev: 0.001, p50: 0, p90: 0.001, p99: 0.001 }],
    ['no samples (Node reports min as a huge number): all 0', hist(0, 9.2e18, 0, NaN, NaN, { 50: 0, 90: 0, 99: 0 }), 50,
      { min: 0, max: 0, mean: 0, stddev: 0, p50: 0, p90: 0, p99: 0 }]
  ])('%s', (_n, h, resolution, expected) => {
    const got = lagSeconds(h, resolution)
    for (const [k, v] of Object.entries(expected)) expect(got[k as keyof typeof got]).toBeCloseTo(v, 6)
  })
})

describe('event-loop lag gauges', () => {
  it('export each statistic once, resolution subtracted, and see a stall of the loop', async () => {
    const { registry } = createNodeMetrics()
    await registry.metrics() // starts a new reading
    await new Promise(resolve => setTimeout(resolve, EVENT_LOOP_RESOLUTION_MS * 3))
    const stallUntil = performance.now() + 400
    while (performance.now() < stallUntil) { /* block the loop */ }
    await new Promise(resolve => setTimeout(resolve, EVENT_LOOP_RESOLUTION_MS * 3))
    const text = await registry.metrics()
    const read = (stat: string): number[] => [...text.matchAll(new RegExp(`^meshnode_process_nodejs_eventloop_lag_${stat}_seconds (\\S+)$`, 'gm'))].map(m => Number(m[1]))
    for (const stat of ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99']) expect(read(stat)).toHaveLength(1)
    // the timer due during the 400 ms stall fired at least 350 ms late (400 less one resolution), whatever the load
    expect(read('max')[0]).toBeGreaterThanOrEqual(0.35 - 0.001)
    expect(read('min')[0]).toBeGreaterThanOrEqual(0)
    // prom-client's scrape-time delay stays
    expect(text).toMatch(/^meshnode_process_nodejs_eventloop_lag_seconds \S+$/m)
  })
})
