/**
 * Deterministic dataset partitioning for simulations and experiments: the same labels and seed give every node
 * the same split. Schemes: IID, the FedAvg paper's label shards (pathological non-IID), and per-class Dirichlet
 * label skew (Hsu et al., 2019; smaller alpha = more skew).
 */
import { TrainingError } from '../errors.js'
import { createRng, type Rng } from './rng.js'

/** The partition schemes: IID, label shards, Dirichlet label skew. */
export const PARTITION_SCHEMES = ['iid', 'shards', 'dirichlet'] as const
/** A partition scheme. */
export type PartitionScheme = typeof PARTITION_SCHEMES[number]
/** The Dirichlet concentration when none is given. */
export const DEFAULT_DIRICHLET_ALPHA = 0.5

/** How to split a labelled dataset across `of` clients. */
export interface PartitionSpec {
  scheme: PartitionScheme
  /** Number of clients. */
  of: number
  seed: number
  /** Dirichlet concentration, > 0 (default DEFAULT_DIRICHLET_ALPHA). */
  alpha?: number
  /** Shards per client for 'shards' (default 2). */
  shardsPerClient?: number
}

/** A train/test split of sample indices, each ascending. */
export interface TrainTestSplit { train: number[], test: number[] }

function argError (message: string): never {
  throw new TrainingError('ERR_ARGUMENT', message)
}

const ascending = (a: number, b: number): number => a - b

/** Split `items` into `parts` contiguous chunks whose sizes differ by at most one (larger chunks first). */
function equalSplit<T> (items: T[], parts: number): T[][] {
  const out: T[][] = []
  const base = Math.floor(items.length / parts)
  const extra = items.length % parts
  let off = 0
  for (let p = 0; p < parts; p++) {
    const size = base + (p < extra ? 1 : 0)
    out.push(items.slice(off, off + size))
    off += size
  }
  return out
}

function iid (n: number, of: number, rng: Rng): number[][] {
  const idx = rng.shuffle(Array.from({ length: n }, (_, i) => i))
  return equalSplit(idx, of)
}

function shards (labels: ArrayLike<number>, of: number, perClient: number, rng: Rng): number[][] {
  const n = labels.length
  // stable sort by label, ties by index, so shards are runs of (mostly) one label
  const byLabel = Array.from({ length: n }, (_, i) => i).sort((a, b) => labels[a] - labels[b] || a - b)
  const pieces = equalSplit(byLabel, of * perClient)
  const order = rng.shuffle(Array.from({ length: pieces.length }, (_, i) => i))
  const clients: number[][] = []
  for (let c = 0; c < of; c++) {
    const mine: number[] = []
    for (let s = 0; s < perClient; s++) mine.push(...pieces[order[c * perClient + s]])
    clients.push(mine)
  }
  return clients
}

function dirichlet (labels: ArrayLike<number>, of: number, alpha: number, rng: Rng): number[][] {
  const byClass = new Map<number, number[]>()
  for (let i = 0; i < labels.length; i++) {
    const list = byClass.get(labels[i])
    if (list === undefined) byClass.set(labels[i], [i])
    else list.push(i)
  }
  const clients: number[][] = Array.from({ length: of }, () => [])
  for (const cls of [...byClass.keys()].sort(ascending)) {
    const idx = rng.shuffle(byClass.get(cls) as number[])
    const g = Array.from({ length: of }, () => rng.gamma(alpha))
    let total = 0
    for (const x of g) total += x
    if (!(total > 0)) {
      // every gamma draw underflowed (tiny alpha): the limit of Dirichlet is one client taking the class
      clients[rng.int(of)].push(...idx)
      continue
    }
    // cut points at floor(cumulative proportion * count); the last client takes the rounding remainder
    let cum = 0
    let start = 0
    for (let c = 0; c < of; c++) {
      cum += g[c]
      const end = c === of - 1 ? idx.length : Math.min(idx.length, Math.floor((cum / total) * idx.length))
      for (let i = start; i < end; i++) clients[c].push(idx[i])
      start = Math.max(start, end)
    }
  }
  return clients
}

/**
 * Assign sample indices to clients. Returns one ascending index list per client; every index appears exactly
 * once overall. Labels must be non-negative integers (ERR_ARGUMENT otherwise).
 */
export function partition (labels: ArrayLike<number>, spec: PartitionSpec): number[][] {
  const { of, seed, scheme } = spec
  if (!Number.isInteger(of) || of < 1) argError(`client count must be a positive integer, got ${of}`)
  for (let i = 0; i < labels.length; i++) {
    if (!Number.isInteger(labels[i]) || labels[i] < 0) argError(`label[${i}] = ${labels[i]} is not a non-negative integer`)
  }
  const rng = createRng(seed)
  let clients: number[][]
  switch (scheme) {
    case 'iid':
      clients = iid(labels.length, of, rng)
      break
    case 'shards': {
      const per = spec.shardsPerClient ?? 2
      if (!Number.isInteger(per) || per < 1) argError(`shardsPerClient must be a positive integer, got ${per}`)
      clients = shards(labels, of, per, rng)
      break
    }
    case 'dirichlet': {
      const alpha = spec.alpha ?? DEFAULT_DIRICHLET_ALPHA
      if (!(alpha > 0) || !Number.isFinite(alpha)) argError(`dirichlet alpha must be finite and > 0, got ${alpha}`)
      clients = dirichlet(labels, of, alpha, rng)
      break
    }
    default:
      argError(`unknown partition scheme ${String(scheme)}`)
  }
  for (const c of clients) c.sort(ascending)
  return clients
}

/** Seeded shuffle of 0..n-1, the first round(n * testFraction) going to test; both lists ascending. */
export function trainTestSplit (n: number, testFraction: number, seed: number): TrainTestSplit {
  if (!Number.isInteger(n) || n < 0) argError(`sample count must be a non-negative integer, got ${n}`)
  if (!(testFraction >= 0 && testFraction <= 1)) argError(`testFraction must be in [0, 1], got ${testFraction}`)
  const idx = createRng(seed).shuffle(Array.from({ length: n }, (_, i) => i))
  const nTest = Math.round(n * testFraction)
  return { test: idx.slice(0, nTest).sort(ascending), train: idx.slice(nTest).sort(ascending) }
}
