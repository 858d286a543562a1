/**
 * Coordinate-wise robust statistics (Yin et al., 2018): per parameter, the median or the trimmed mean of the
 * updates' values. Unweighted by design: a weight would let one large participant buy the median.
 * One float64 scratch of length n is reused for every coordinate (no per-coordinate allocation); the kept values
 * are summed in ascending order, which makes the result independent of how the updates were ordered.
 */
import { sortPrefix } from './select.js'

/** Per-coordinate median; for an even count the float64 mean of the two middle values. */
export function coordinateMedian (data: readonly Float32Array[]): Float32Array {
  const n = data.length
  const len = data[0].length
  const out = new Float32Array(len)
  const s = new Float64Array(n)
  const lo = (n - 1) >> 1
  const hi = n >> 1
  for (let j = 0; j < len; j++) {
    for (let u = 0; u < n; u++) s[u] = data[u][j]
    sortPrefix(s, n)
    // + 0 canonicalises -0 to 0: which zero sorts first must not leak into the bits
    out[j] = (lo === hi ? s[lo] : (s[lo] + s[hi]) / 2) + 0
  }
  return out
}

/** The trimmed fraction beta must stay below this: trimming half from each side leaves nothing to average. */
export const TRIM_BETA_LIMIT = 0.5

/** Number of values trimmed from EACH side for a fraction beta of n. */
export function trimCount (n: number, beta: number): number {
  return Math.floor(beta * n)
}

/** Per-coordinate mean after dropping the floor(beta * n) lowest and highest values; 0 <= beta < TRIM_BETA_LIMIT. */
export function coordinateTrimmedMean (data: readonly Float32Array[], beta: number): Float32Array {
  const n = data.length
  const len = data[0].length
  const t = trimCount(n, beta)
  const kept = n - 2 * t
  const out = new Float32Array(len)
  const s = new Float64Array(n)
  for (let j = 0; j < len; j++) {
    for (let u = 0; u < n; u++) s[u] = data[u][j]
    sortPrefix(s, n)
    let sum = 0
    for (let i = t; i < n - t; i++) sum += s[i]
    out[j] = sum / kept
  }
  return out
}
