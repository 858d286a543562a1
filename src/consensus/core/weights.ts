/**
 * Weights: the reputation table an epoch ends with, and the voting weights (the snapshot) a proposal naming that
 * epoch is tallied with. All integers (bigint), so every node derives the same snapshot from the same table.
 *
 * Effective weight. A peer is on probation while it is younger than `probationEpochs` or its score is below
 * `probationThreshold`. Established peers vote with their score. Probation peers share a pool pro rata to their
 * scores, the pool capped at `probationPoolBps` (at most 10%) of the total effective weight:
 *
 *     pool = min(sum of probation scores, floor(E * b / (1 - b)))    E = sum of established scores, b = pool share
 *
 * so `pool <= b * (E + pool)`: 14 or 14,000 sybils together weigh at most 10% of the total, which is below a third
 * of the 2/3 quorum (10% < 22.2%), so they can never complete a QC alone, nor block one that 2/3 + 10% of the
 * established weight supports. While no established peer has weight (a fresh mesh without pre-trusted peers), votes
 * count by head (`headCount`).
 */
import { BPS, type ReputationParams } from './params.js'

/** One peer's line in the reputation table. */
export interface ReputationEntry {
  /** The peer's score in weight units (the EMA of what it earned). */
  score: bigint
  /** The epoch the peer entered the table; its age at epoch e is e - since. */
  since: number
}

/** The reputation table at the end of an epoch: the state of the epoch chain. */
export interface ReputationTable {
  epoch: number
  peers: ReadonlyMap<string, ReputationEntry>
}

/** The voting weights a proposal whose `snapshot` is `epoch` is tallied with. */
export interface WeightSnapshot {
  epoch: number
  /** Effective voting weight per member (probation shares applied); members of weight 0 included. */
  weights: ReadonlyMap<string, bigint>
  /** The members on probation. */
  probation: ReadonlySet<string>
  /** The sum of `weights`. */
  total: bigint
  /** True while no established peer has weight: every electorate member then counts 1. */
  headCount: boolean
  /** The probation pool's cap in basis points (used again when restricting to an electorate). */
  poolBps: bigint
}

/** Whether a peer of this entry is on probation at `epoch`. */
export function onProbation (entry: ReputationEntry, epoch: number, params: ReputationParams): boolean {
  return epoch - entry.since < params.probationEpochs || entry.score < params.probationThreshold
}

/** The largest pool `established` weight admits: floor(E * b / (1 - b)), so pool <= b * (E + pool). */
export function poolCap (established: bigint, poolBps: bigint): bigint {
  if (poolBps <= 0n) return 0n
  return established * poolBps / (BPS - poolBps)
}

/** Scale `shares` down pro rata so they sum to at most `cap` (floor; deterministic). */
function capPool (shares: ReadonlyMap<string, bigint>, cap: bigint): Map<string, bigint> {
  let sum = 0n
  for (const w of shares.values()) sum += w
  if (sum <= cap) return new Map(shares)
  const out = new Map<string, bigint>()
  for (const [peer, w] of shares) out.set(peer, w * cap / sum)
  return out
}

/** The snapshot of a table: established scores as they are, probation scores sharing the capped pool. */
export function effectiveWeights (table: ReputationTable, params: ReputationParams): WeightSnapshot {
  const weights = new Map<string, bigint>()
  const probation = new Set<string>()
  const pooled = new Map<string, bigint>()
  let established = 0n
  for (const [peer, entry] of table.peers) {
    if (onProbation(entry, table.epoch, params)) {
      probation.add(peer)
      pooled.set(peer, entry.score)
    } else {
      weights.set(peer, entry.score)
      established += entry.score
    }
  }
  for (const [peer, w] of capPool(pooled, poolCap(established, params.probationPoolBps))) weights.set(peer, w)
  let total = 0n
  for (const w of weights.values()) total += w
  return { epoch: table.epoch, weights, probation, total, headCount: established === 0n, poolBps: params.probationPoolBps }
}

/** The weights of one proposal's electorate: who may vote and how much each vote weighs. */
export interface ElectorateWeights {
  weights: ReadonlyMap<string, bigint>
  total: bigint
  headCount: boolean
}

/**
 * Restrict a snapshot to an electorate (a round's participants; by default every member of the snapshot). The pool
 * cap is applied again inside the electorate, so probation members weigh at most `poolBps` of any electorate's total
 * too. Non-members weigh 0, except in head-count mode, where every electorate member counts 1.
 */
export function electorateWeights (snapshot: WeightSnapshot, electorate?: Iterable<string>): ElectorateWeights {
  const members = new Set(electorate ?? snapshot.weights.keys())
  const weights = new Map<string, bigint>()
  if (snapshot.headCount) {
    for (const peer of members) weights.set(peer, 1n)
    return { weights, total: BigInt(weights.size), headCount: true }
  }
  const pooled = new Map<string, bigint>()
  let established = 0n
  for (const peer of members) {
    const w = snapshot.weights.get(peer)
    if (w === undefined || w === 0n) continue
    if (snapshot.probation.has(peer)) pooled.set(peer, w)
    else { weights.set(peer, w); established += w }
  }
  for (const [peer, w] of capPool(pooled, poolCap(established, snapshot.poolBps))) if (w > 0n) weights.set(peer, w)
  let total = 0n
  for (const w of weights.values()) total += w
  return { weights, total, headCount: false }
}

/** The smallest yes weight that reaches 2/3 of `total`: ceil(2 * total / 3). */
export function quorumOf (total: bigint): bigint {
  return (2n * total + 2n) / 3n
}

/** Whether `yes` reaches 2/3 of a positive `total`. */
export function reachesQuorum (yes: bigint, total: bigint): boolean {
  return total > 0n && 3n * yes >= 2n * total
}
