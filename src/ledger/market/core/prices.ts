/**
 * The distinct prices of one book side in priority order, as a list of sorted chunks (a flat B-tree of depth one):
 * insert and delete cost a binary search plus a splice inside one chunk of at most `2 * chunk` prices, instead of
 * a splice of the whole list (100k distinct prices inserted at random: O(n^2) moves with one array).
 */
export class SortedPrices {
  private readonly chunks: bigint[][] = []
  private count = 0

  /** `before(a, b)`: whether `a` comes first. `chunk`: the target chunk length (small in tests, to exercise splits). */
  constructor (private readonly before: (a: bigint, b: bigint) => boolean, private readonly chunk = 256) {}

  /** Distinct prices held. */
  get size (): number {
    return this.count
  }

  /** The index of the first chunk whose last price is not before `p` (the chunk `p` belongs in), or the last one. */
  private chunkFor (p: bigint): number {
    let lo = 0
    let hi = this.chunks.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      const c = this.chunks[mid]
      if (this.before(c[c.length - 1], p)) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  private indexIn (c: bigint[], p: bigint): number {
    let lo = 0
    let hi = c.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.before(c[mid], p)) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Adds `p` (the caller adds each price once). */
  insert (p: bigint): void {
    this.count++
    if (this.chunks.length === 0) {
      this.chunks.push([p])
      return
    }
    const ci = this.chunkFor(p)
    const c = this.chunks[ci]
    c.splice(this.indexIn(c, p), 0, p)
    if (c.length > 2 * this.chunk) this.chunks.splice(ci + 1, 0, c.splice(this.chunk))
  }

  /** Removes `p` if present. */
  delete (p: bigint): void {
    if (this.chunks.length === 0) return
    const ci = this.chunkFor(p)
    const c = this.chunks[ci]
    const i = this.indexIn(c, p)
    if (c[i] !== p) return
    c.splice(i, 1)
    this.count--
    if (c.length === 0) this.chunks.splice(ci, 1)
  }

  /** The first price. */
  first (): bigint | undefined {
    return this.chunks[0]?.[0]
  }

  /** Every price in order. */
  * [Symbol.iterator] (): Generator<bigint> {
    for (const c of this.chunks) yield * c
  }
}
