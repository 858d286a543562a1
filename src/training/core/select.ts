/**
 * Small order-statistics helpers for the hot loops of top-k compression and robust aggregation.
 * Values must not be NaN (callers validate first); the VALUE returned is unique, so the result does not depend on
 * pivot choices even though the rearrangement does.
 */

type Numeric = Float32Array | Float64Array

/** Rearrange `a` so that a[k] holds the k-th smallest value (0-based) and return it. Hoare quickselect with a
 *  median-of-three pivot; falls back to a full sort of the remaining range if partitioning degenerates. */
export function nthElement (a: Numeric, k: number): number {
  let l = 0
  let r = a.length - 1
  let rounds = 0
  for (;;) {
    if (r <= l + 1) {
      if (r === l + 1 && a[r] < a[l]) swap(a, l, r)
      return a[k]
    }
    if (++rounds > 96) {
      // adversarial input: O(n log n) on what is left instead of O(n^2)
      a.subarray(l, r + 1).sort()
      return a[k]
    }
    const mid = (l + r) >>> 1
    swap(a, mid, l + 1)
    if (a[l] > a[r]) swap(a, l, r)
    if (a[l + 1] > a[r]) swap(a, l + 1, r)
    if (a[l] > a[l + 1]) swap(a, l, l + 1)
    let i = l + 1
    let j = r
    const p = a[l + 1]
    for (;;) {
      do i++; while (a[i] < p)
      do j--; while (a[j] > p)
      if (j < i) break
      swap(a, i, j)
    }
    a[l + 1] = a[j]
    a[j] = p
    if (j >= k) r = j - 1
    if (j <= k) l = i
  }
}

/** Sort the first n entries of `a` ascending: insertion sort for the small n of an aggregation round,
 *  the native numeric sort beyond. */
export function sortPrefix (a: Float64Array, n: number): void {
  if (n > 24) {
    a.subarray(0, n).sort()
    return
  }
  for (let i = 1; i < n; i++) {
    const v = a[i]
    let j = i - 1
    while (j >= 0 && a[j] > v) {
      a[j + 1] = a[j]
      j--
    }
    a[j + 1] = v
  }
}

function swap (a: Numeric, i: number, j: number): void {
  const t = a[i]
  a[i] = a[j]
  a[j] = t
}
