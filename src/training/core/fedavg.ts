/**
 * Weighted federated averaging (McMahan et al.): sum_i w_i x_i / sum_i w_i, per coordinate.
 * Accumulated in float64 in the caller's (id-sorted) update order and rounded to float32 once, so every node
 * that sorts the same way gets the same bits.
 */

/** Coordinates per cache block: the float64 accumulator slice (32 KiB) stays in L1/L2 across all updates. */
const BLOCK = 4096

/** Weighted mean of equal-length vectors; `weights` are finite and > 0 (validated by the caller). */
export function weightedMean (data: readonly Float32Array[], weights: readonly number[]): Float32Array {
  const len = data[0].length
  let total = 0
  for (const w of weights) total += w
  const out = new Float32Array(len)
  const acc = new Float64Array(Math.min(BLOCK, len))
  for (let start = 0; start < len; start += BLOCK) {
    const end = Math.min(len, start + BLOCK)
    acc.fill(0)
    for (let u = 0; u < data.length; u++) {
      const x = data[u]
      const w = weights[u]
      for (let j = start; j < end; j++) acc[j - start] += w * x[j]
    }
    for (let j = start; j < end; j++) out[j] = acc[j - start] / total
  }
  return out
}
