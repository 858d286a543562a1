/**
 * The small key-value interface the chain client and the indexer persist through: string keys, JSON values, ordered
 * range reads and atomic batches. `levelKv` adapts a Level sublevel (the node passes `state.sublevel('chain')`; a batch
 * there is one LevelDB write, all-or-nothing across a crash). `memoryKv` is for pure-logic tests only.
 */

/** One write of a batch. */
export type KvOp = { type: 'put', key: string, value: unknown } | { type: 'del', key: string }

/** What the chain client needs from a store. */
export interface ChainKv {
  get: (key: string) => Promise<unknown>
  /** Applies all of `ops` or none of them. */
  batch: (ops: KvOp[]) => Promise<void>
  /** Entries with `gte <= key < lt`, in key order. */
  range: (gte: string, lt: string, opts?: { reverse?: boolean, limit?: number }) => Promise<Array<[string, unknown]>>
}

/** The parts of an abstract-level database (a Level sublevel with JSON values) that `levelKv` uses. */
export interface LevelLike {
  get: (key: string) => Promise<unknown>
  batch: (ops: Array<{ type: 'put', key: string, value: any } | { type: 'del', key: string }>) => Promise<void>
  iterator: (opts: { gte: string, lt: string, reverse?: boolean, limit?: number }) => { all: () => Promise<Array<[string, unknown]>> }
}

/** A `ChainKv` over a Level sublevel (JSON value encoding). */
export function levelKv (db: LevelLike): ChainKv {
  return {
    get: async key => await db.get(key),
    batch: async ops => { if (ops.length > 0) await db.batch(ops) },
    range: async (gte, lt, opts = {}) => await db.iterator({ gte, lt, ...(opts.reverse === true ? { reverse: true } : {}), ...(opts.limit !== undefined ? { limit: opts.limit } : {}) }).all()
  }
}

/** An in-memory `ChainKv` (values deep-copied as JSON, like Level would). */
export function memoryKv (): ChainKv {
  const m = new Map<string, string>()
  return {
    get: async key => { const v = m.get(key); return v === undefined ? undefined : JSON.parse(v) },
    batch: async ops => {
      const encoded = ops.map(op => op.type === 'put' ? { ...op, json: JSON.stringify(op.value) } : op)
      for (const op of encoded) {
        if (op.type === 'put') m.set(op.key, op.json)
        else m.delete(op.key)
      }
    },
    range: async (gte, lt, opts = {}) => {
      const keys = [...m.keys()].filter(k => k >= gte && k < lt).sort()
      if (opts.reverse === true) keys.reverse()
      return keys.slice(0, opts.limit ?? keys.length).map(k => [k, JSON.parse(m.get(k) as string)])
    }
  }
}
