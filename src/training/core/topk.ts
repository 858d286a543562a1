/**
 * Top-k sparsification: keep the k largest-magnitude entries of a delta. Ties at the threshold go to the lower
 * index, so the kept set is a pure function of the values, and indices come out sorted ascending.
 */
import { TrainingError } from '../errors.js'
import { nthElement } from './select.js'

/** A sparse vector: ascending indices and their values. */
export interface SparseVector {
  indices: Uint32Array
  values: Float32Array
}

/** How many entries a fraction keeps out of n: round(fraction * n), at least 1 when n > 0.
 *  Rounding rather than ceil keeps 0.01 * 1e6 at 10000 despite 0.01 not being exact in binary. */
export function topKCount (n: number, fraction: number): number {
  if (!(fraction > 0 && fraction <= 1)) throw new TrainingError('ERR_CODEC', `top-k fraction must be in (0, 1], got ${fraction}`)
  if (n === 0) return 0
  return Math.min(n, Math.max(1, Math.round(fraction * n)))
}

/** Select the k largest |v[i]| (ties by lower index). Values must be finite (ERR_NONFINITE otherwise). */
export function topKSelect (v: Float32Array, k: number): SparseVector {
  const n = v.length
  if (!Number.isInteger(k) || k < 0 || k > n) throw new TrainingError('ERR_CODEC', `top-k count ${k} out of range for ${n} values`)
  const indices = new Uint32Array(k)
  const values = new Float32Array(k)
  if (k === 0) return { indices, values }
  const mags = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    const x = v[i]
    if (!Number.isFinite(x)) throw new TrainingError('ERR_NONFINITE', `top-k input[${i}] is ${x}`)
    mags[i] = Math.abs(x)
  }
  // threshold = the k-th largest magnitude; everything strictly above it is kept, ties fill the rest by index
  const threshold = nthElement(mags, n - k)
  let above = 0
  for (let i = 0; i < n; i++) if (Math.abs(v[i]) > threshold) above++
  let ties = k - above
  let o = 0
  for (let i = 0; i < n && o < k; i++) {
    const m = Math.abs(v[i])
    if (m > threshold || (m === threshold && ties-- > 0)) {
      indices[o] = i
      values[o] = v[i]
      o++
    }
  }
  return { indices, values }
}
