/**
 * A binary min-heap over a numeric key (keys and items in parallel arrays: no closure call or bigint compare per
 * step); the book uses it to find expired orders without scanning the whole book.
 */
export class MinHeap<T> {
  private readonly keys: number[] = []
  private readonly items: T[] = []

  /** Items held (live or stale: the book skips stale ones). */
  get size (): number {
    return this.items.length
  }

  /** Adds `item` under `key`. */
  push (key: number, item: T): void {
    const keys = this.keys
    const items = this.items
    let i = items.length
    keys.push(key)
    items.push(item)
    while (i > 0) {
      const p = (i - 1) >> 1
      if (keys[p] <= key) break
      keys[i] = keys[p]
      items[i] = items[p]
      i = p
    }
    keys[i] = key
    items[i] = item
  }

  /** The item with the smallest key. */
  peek (): T | undefined {
    return this.items[0]
  }

  /** Removes and returns the item with the smallest key. */
  pop (): T | undefined {
    const keys = this.keys
    const items = this.items
    const top = items[0]
    const lastKey = keys.pop()
    const last = items.pop()
    const n = items.length
    if (n === 0 || last === undefined || lastKey === undefined) return top
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const c = r < n && keys[r] < keys[l] ? r : l
      if (keys[c] >= lastKey) break
      keys[i] = keys[c]
      items[i] = items[c]
      i = c
    }
    keys[i] = lastKey
    items[i] = last
    return top
  }

  /** Drops every item `keep` refuses, rebuilding the heap (for when most of it is stale). */
  filter (keep: (item: T) => boolean): void {
    const kept: Array<[number, T]> = []
    for (let i = 0; i < this.items.length; i++) if (keep(this.items[i])) kept.push([this.keys[i], this.items[i]])
    this.keys.length = 0
    this.items.length = 0
    for (const [k, item] of kept) this.push(k, item)
  }
}
