/**
 * Krum / Multi-Krum (Blanchard et al., 2017): score each update by the sum of squared distances to its n - f - 2
 * nearest neighbours and keep the m lowest-scoring ones. Byzantine updates must sit far from the honest cluster
 * to move the average, which is exactly what raises their score.
 */

/** Coordinates per cache block for the pairwise-distance pass. */
const BLOCK = 4096

/** Squared Euclidean distances between all pairs, as a symmetric n x n row-major matrix (float64). */
export function pairwiseSquaredDistances (data: readonly Float32Array[]): Float64Array {
  const n = data.length
  const len = data[0].length
  const d = new Float64Array(n * n)
  // blocked so the n slices stay in cache across the n(n-1)/2 pairs; per pair the sum still runs in index order
  for (let start = 0; start < len; start += BLOCK) {
    const end = Math.min(len, start + BLOCK)
    for (let a = 0; a < n; a++) {
      const x = data[a]
      for (let b = a + 1; b < n; b++) {
        const y = data[b]
        let s = d[a * n + b]
        for (let j = start; j < end; j++) {
          const diff = x[j] - y[j]
          s += diff * diff
        }
        d[a * n + b] = s
      }
    }
  }
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) d[b * n + a] = d[a * n + b]
  return d
}

/** Krum score of each update: the sum (ascending order) of its `neighbours` smallest distances to the others. */
export function krumScores (dist: Float64Array, n: number, neighbours: number): Float64Array {
  const scores = new Float64Array(n)
  const row = new Float64Array(n - 1)
  for (let a = 0; a < n; a++) {
    let k = 0
    for (let b = 0; b < n; b++) if (b !== a) row[k++] = dist[a * n + b]
    row.sort()
    let s = 0
    for (let i = 0; i < neighbours; i++) s += row[i]
    scores[a] = s
  }
  return scores
}

/**
 * Indices (ascending) of the m updates with the lowest Krum score; equal scores go to the lower index, which is
 * the lower id because the caller sorted by id.
 */
export function multiKrumSelect (data: readonly Float32Array[], f: number, m: number): number[] {
  const n = data.length
  const scores = krumScores(pairwiseSquaredDistances(data), n, n - f - 2)
  const order = Array.from({ length: n }, (_, i) => i)
  order.sort((a, b) => scores[a] - scores[b] || a - b)
  return order.slice(0, m).sort((a, b) => a - b)
}
