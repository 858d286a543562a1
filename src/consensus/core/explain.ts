/**
 * What `GET /v1/reputation` and `GET /v1/reputation/{peerId}` show: per peer its score, its effective voting weight,
 * whether it is on probation and its age, and, when the last transition is known, the parts its score moved by
 * (work, bonds, slashes, decay, cap). Also the adapter that lets training's aggregator rotation order peers by
 * reputation (`ReputationView`).
 */
import type { ScoreParts } from './epoch.js'
import type { ReputationParams } from './params.js'
import type { ReputationView } from './reputation.js'
import { effectiveWeights, type ReputationTable, type WeightSnapshot } from './weights.js'

/** One peer's line of the reputation table, explained. */
export interface ReputationRow {
  peerId: string
  score: bigint
  /** Effective voting weight in the snapshot of this epoch (probation pool applied). */
  weight: bigint
  probation: boolean
  age: number
  /** How the last transition moved the score, when known. */
  parts?: ScoreParts
}

/** The table's rows, sorted by peer id; `parts` from the transition that produced the table, when given. */
export function reputationRows (table: ReputationTable, params: ReputationParams, parts?: ReadonlyMap<string, ScoreParts>): ReputationRow[] {
  const snap = effectiveWeights(table, params)
  return [...table.peers.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([peerId, e]) => {
      const row: ReputationRow = { peerId, score: e.score, weight: snap.weights.get(peerId) ?? 0n, probation: snap.probation.has(peerId), age: table.epoch - e.since }
      const p = parts?.get(peerId)
      if (p != null) row.parts = p
      return row
    })
}

/**
 * A `ReputationView` over a snapshot: a peer's effective weight as a number (0 for strangers). Only for ordering
 * (aggregator rotation); beyond 2^53 units the number rounds, which never changes an order of unequal integers by
 * more than ties.
 */
export function reputationViewOf (snapshot: WeightSnapshot): ReputationView {
  return { reputation: (peerId) => Number(snapshot.weights.get(peerId) ?? 0n) }
}
