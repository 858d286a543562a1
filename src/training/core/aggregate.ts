/**
 * The one entry point for combining participants' deltas into a round's aggregate.
 * Deterministic by construction so any node can recompute a seal bit for bit: updates are sorted by id
 * (code-unit order, never locale order), every strategy accumulates in float64 and rounds to float32 once.
 */
import { TrainingError } from '../errors.js'
import type { AggregationSpec } from '../protocol/job-schema.js'
import { coordinateMedian, coordinateTrimmedMean, TRIM_BETA_LIMIT } from './coordinate.js'
import { clipFactor, l2Norm, scaled } from './delta.js'
import { weightedMean } from './fedavg.js'
import { krumMinUpdates, multiKrumSelect } from './krum.js'

/** One participant's contribution; weight = samples x consensus weight (finite, > 0). */
export interface WeightedUpdate { id: string, data: Float32Array, weight: number }

/**
 * Aggregation strategy (its schema is the job contract's `AggregationSpecSchema`). fedavg: weighted mean. median /
 * trimmed mean: coordinate-wise and unweighted, beta is the fraction trimmed from EACH side (below TRIM_BETA_LIMIT).
 * krum: Multi-Krum tolerating f Byzantine updates, keeping m (default n - f), then the weighted mean of those; needs
 * krumMinUpdates(f) updates.
 */
export type { AggregationSpec }

/** Options applied to every strategy. */
export interface AggregateOptions {
  /** Scale each update down to this L2 norm (if above) before aggregating. */
  clipNorm?: number
}

/** The aggregate and the ids (ascending) of the updates that contributed to it. */
export interface AggregateResult { result: Float32Array, selected: string[] }

function fail (message: string): never {
  throw new TrainingError('ERR_AGGREGATION', message)
}

/** Code-unit string order: identical on every platform and locale, unlike localeCompare. */
export function compareIds (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Sort by id, validate, and clip; returns new objects (inputs are never mutated). */
function prepare (updates: readonly WeightedUpdate[], clipNorm: number | undefined): WeightedUpdate[] {
  if (!Array.isArray(updates) || updates.length === 0) fail('no updates to aggregate')
  if (clipNorm !== undefined && !(clipNorm > 0 && Number.isFinite(clipNorm))) fail(`clipNorm must be finite and > 0, got ${clipNorm}`)
  const sorted = [...updates].sort((a, b) => compareIds(a.id, b.id))
  const len = sorted[0].data?.length
  return sorted.map((u, i) => {
    if (typeof u.id !== 'string') fail('update id must be a string')
    if (i > 0 && sorted[i - 1].id === u.id) fail(`duplicate update id ${u.id}`)
    if (!(u.data instanceof Float32Array)) throw new TrainingError('ERR_SHAPE', `update ${u.id}: data must be a Float32Array`)
    if (u.data.length !== len) throw new TrainingError('ERR_SHAPE', `update ${u.id} has ${u.data.length} values, expected ${len}`)
    if (typeof u.weight !== 'number' || !(u.weight > 0) || !Number.isFinite(u.weight)) fail(`update ${u.id}: weight must be finite and > 0, got ${u.weight}`)
    // the norm doubles as the finiteness check: it is finite iff every element is
    const norm = l2Norm(u.data)
    if (!Number.isFinite(norm)) throw new TrainingError('ERR_NONFINITE', `update ${u.id} has non-finite values`)
    const factor = clipNorm === undefined ? 1 : clipFactor(norm, clipNorm)
    return { id: u.id, weight: u.weight, data: factor === 1 ? u.data : scaled(u.data, factor) }
  })
}

/**
 * Combine updates with a strategy. Input order never matters (the output is bit-identical for any permutation).
 * Throws TrainingError: ERR_AGGREGATION (empty, duplicate ids, bad weight or spec), ERR_SHAPE (lengths differ),
 * ERR_NONFINITE (a NaN or infinite element).
 */
export function aggregate (spec: AggregationSpec, updates: WeightedUpdate[], opts: AggregateOptions = {}): AggregateResult {
  const ups = prepare(updates, opts.clipNorm)
  const n = ups.length
  const data = ups.map(u => u.data)
  const all = ups.map(u => u.id)
  switch (spec.kind) {
    case 'fedavg':
      return { result: weightedMean(data, ups.map(u => u.weight)), selected: all }
    case 'median':
      return { result: coordinateMedian(data), selected: all }
    case 'trimmed-mean': {
      const { beta } = spec
      if (typeof beta !== 'number' || !(beta >= 0 && beta < TRIM_BETA_LIMIT)) fail(`trimmed-mean beta must be in [0, ${TRIM_BETA_LIMIT}), got ${beta}`)
      return { result: coordinateTrimmedMean(data, beta), selected: all }
    }
    case 'krum': {
      const { f } = spec
      const m = spec.m ?? n - f
      if (!Number.isInteger(f) || f < 0) fail(`krum f must be a non-negative integer, got ${f}`)
      if (n < krumMinUpdates(f)) fail(`krum with f=${f} needs at least ${krumMinUpdates(f)} updates, got ${n}`)
      if (!Number.isInteger(m) || m < 1 || m > n) fail(`krum m must be an integer in [1, ${n}], got ${m}`)
      const keep = multiKrumSelect(data, f, m)
      return {
        result: weightedMean(keep.map(i => data[i]), keep.map(i => ups[i].weight)),
        selected: keep.map(i => ups[i].id)
      }
    }
    default:
      fail(`unknown aggregation kind ${(spec as { kind: unknown }).kind}`)
  }
}
