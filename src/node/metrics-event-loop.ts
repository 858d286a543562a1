/**
 * The event-loop delay gauges (`meshnode_process_nodejs_eventloop_lag_{min,max,mean,stddev,p50,p90,p99}_seconds`),
 * measured at a coarser resolution than prom-client's and reported without it.
 *
 * Node's delay monitor is a libuv timer that records the whole interval between two of its wakeups, so every value
 * includes the resolution: prom-client's (10 ms, 100 wakeups a second in every process) reads about 10 ms on an idle
 * loop. Those wakeups were a fixed idle cost of every daemon (20 of them on 2 cores). Here the timer wakes every
 * EVENT_LOOP_RESOLUTION_MS and the gauges report the interval minus the resolution: how late the timer fired, which
 * is 0 on an idle loop. A stall is seen when it overlaps a wakeup, so a short one is caught with probability
 * (its length / the resolution) and its reading is the part left when the timer was due; sustained load is seen
 * fully. The percentiles are per wakeup, so they depend on the resolution: a stall is one sample among 20 a second
 * here, not among 100, and p99 under intermittent stalls reads higher than it did at 10 ms (the soak's bare baseline
 * measures at the same resolution, so its figures compare). prom-client's own gauges of these names are replaced (its
 * `nodejs_eventloop_lag_seconds`, a setImmediate delay measured at each scrape, stays).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import { Gauge, type Registry } from 'prom-client'

/** The delay monitor's resolution (ms): its wakeup period, subtracted from every reading. */
export const EVENT_LOOP_RESOLUTION_MS = 50

/**
 * prom-client's own monitor (it always starts one) then wakes this rarely; its readings are never exported (its
 * gauges are replaced), so its period only costs wakeups.
 */
export const PROM_CLIENT_MONITOR_PRECISION_MS = 10_000

const STATS = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'] as const
type Stat = typeof STATS[number]

/** What the gauges read from a delay histogram (ns, as Node reports it). */
export interface DelayHistogram {
  readonly count: number
  readonly min: number
  readonly max: number
  readonly mean: number
  readonly stddev: number
  percentile: (p: number) => number
}

/**
 * The gauges' values in seconds: each reading less the resolution, never below 0 (the stddev is a spread, not
 * shifted). No samples since the last reading (a loop stalled longer than the scrape interval): all 0 now, and the
 * stall shows in the next reading.
 */
export function lagSeconds (h: DelayHistogram, resolutionMs: number): Record<Stat, number> {
  if (h.count === 0) return { min: 0, max: 0, mean: 0, stddev: 0, p50: 0, p90: 0, p99: 0 }
  const late = (ns: number): number => Math.max(0, ns / 1e9 - resolutionMs / 1000)
  return {
    min: late(h.min),
    max: late(h.max),
    mean: late(h.mean),
    stddev: h.stddev / 1e9,
    p50: late(h.percentile(50)),
    p90: late(h.percentile(90)),
    p99: late(h.percentile(99))
  }
}

/**
 * Replace prom-client's event-loop delay gauges on `registry` (registered by collectDefaultMetrics with `prefix`) with
 * ones read from a monitor at EVENT_LOOP_RESOLUTION_MS, resolution subtracted. Returns the monitor (disable it to stop).
 */
export function eventLoopLagMetrics (registry: Registry, prefix: string): IntervalHistogram {
  const name = (s: Stat): string => `${prefix}nodejs_eventloop_lag_${s}_seconds`
  for (const s of STATS) registry.removeSingleMetric(name(s))
  const h = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS })
  h.enable()
  // every gauge reads the same histogram during a scrape (prom-client collects them all in one turn); the next
  // turn starts a new reading, so each scrape reports the delay since the previous one
  let resetting = false
  const readings = (): Record<Stat, number> => {
    if (!resetting) { resetting = true; setImmediate(() => { h.reset(); resetting = false }) }
    return lagSeconds(h, EVENT_LOOP_RESOLUTION_MS)
  }
  for (const s of STATS) {
    const g: Gauge = new Gauge({
      name: name(s),
      help: `Event-loop delay ${s === 'stddev' ? 'standard deviation' : s} since the last scrape, in seconds: how late a timer due every ${EVENT_LOOP_RESOLUTION_MS} ms fired (its resolution subtracted; 0 when idle)`,
      registers: [registry],
      collect () { g.set(readings()[s]) }
    })
  }
  return h
}
