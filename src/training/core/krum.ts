/**
 * Krum / Multi-Krum (Blanchard et al., 2017): score each update by the sum of squared distances to its n - f - 2
 * nearest neighbours and keep the m lowest-scoring ones. Byzantine updates must sit far from the honest cluster
 * to move the average, which is exactly what raises their score.
 */

/** Coordinates per cache block for the pairwise-distance pass. */
const BLOCK = 4096

/**
 * The fewest updates Multi-Krum tolerating `f` Byzantine ones can run on: each score sums the n - f - 2 nearest
 * neighbours, and at least one neighbour must remain. A job must wait for this many deltas per round.
 */
export function krumMinUpdates (f: number): number {
  return f + 3
}

/**
 * Squared Euclidean distances between all pairs, as a symmetric n x n row-major matrix (float64).
 * Each pair's sum runs in four interleaved lanes (index mod 4) combined as (l0 + l1) + (l2 + l3): a fixed
 * order, so reproducible bit for bit, without one long chain of dependent adds.
 */
export function pairwiseSquaredDistances (data: readonly Float32Array[]): Float64Array {
  const n = data.length
  const len = data[0].length
  const lanes = new Float64Array(n * n * 4)
  // blocked so the n slices stay in cache across the n(n-1)/2 pairs
  for (let start = 0; start < len; start += BLOCK) {
    const end = Math.min(len, start + BLOCK)
    const end4 = start + ((end - start) & ~3)
    for (let a = 0; a < n; a++) {
      const x = data[a]
      for (let b = a + 1; b < n; b++) {
        const y = data[b]
        const o = (a * n + b) * 4
        let s0 = lanes[o]
        let s1 = lanes[o + 1]
        let s2 = lanes[o + 2]
        let s3 = lanes[o + 3]
        let j = start
        for (; j < end4; j += 4) {
          const d0 = x[j] - y[j]
          const d1 = x[j + 1] - y[j + 1]
          const d2 = x[j + 2] - y[j + 2]
          const d3 = x[j + 3] - y[j + 3]
          s0 += d0 * d0
          s1 += d1 * d1
          s2 += d2 * d2
          s3 += d3 * d3
        }
        // only the last block can have a tail (BLOCK is a multiple of 4)
        for (; j < end; j++) {
          const d = x[j] - y[j]
          s0 += d * d
        }
        lanes[o] = s0
        lanes[o + 1] = s1
        lanes[o + 2] = s2
        lanes[o + 3] = s3
      }
    }
  }
  const d = new Float64Array(n * n)
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      const o = (a * n + b) * 4
      d[a * n + b] = d[b * n + a] = (lanes[o] + lanes[o + 1]) + (lanes[o + 2] + lanes[o + 3])
    }
  }
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
