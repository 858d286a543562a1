/** The API views of the chain: the reputation table (with each score's parts) and the epochs. */
import { ConsensusError } from '../errors.js'
import type { ScoreParts } from '../core/epoch.js'
import { reputationRows, type ReputationRow } from '../core/explain.js'
import type { EpochsView, ReputationRowView, ReputationTableView } from './api-schemas.js'
import type { EpochChain } from './chain.js'

/** The formula `GET /v1/reputation/{peerId}` explains a score with. */
export const REPUTATION_FORMULA = 'score(e+1) = score - ceil(score*decay) + workUnit*contributions + floor(weight*bond*agreed/finalized) - slashes - capped; ' +
  'slashes compound slash per proven equivocation; capped keeps any score <= maxShare of the total; ' +
  'probation identities (younger than probationEpochs or below probationThreshold) share a pool capped at 10% of the total weight'

function parts (p: ScoreParts): NonNullable<ReputationRowView['parts']> {
  return {
    previous: String(p.previous), decay: String(p.decay), work: String(p.work), bonds: String(p.bonds), slashes: String(p.slashes),
    capped: String(p.capped), score: String(p.score), contributions: p.contributions, agreed: p.agreed, evidence: p.evidence, age: p.age, probation: p.probation
  }
}

function row (r: ReputationRow): ReputationRowView {
  return { peerId: r.peerId, score: String(r.score), weight: String(r.weight), probation: r.probation, age: r.age, parts: r.parts != null ? parts(r.parts) : null }
}

/** `GET /v1/reputation`. */
export function reputationView (chain: EpochChain): ReputationTableView {
  return { epoch: chain.epoch, hash: chain.hash(), peers: reputationRows(chain.table(), chain.params(), chain.parts()).map(row) }
}

/** `GET /v1/reputation/{peerId}` (ERR_NOT_FOUND for a peer not in the table). */
export function reputationPeerView (chain: EpochChain, peerId: string): { epoch: number, hash: string, peer: ReputationRowView, formula: string } {
  const r = reputationRows(chain.table(), chain.params(), chain.parts()).find(x => x.peerId === peerId)
  if (r == null) throw new ConsensusError('ERR_NOT_FOUND', `peer ${peerId} has no reputation in epoch ${chain.epoch}`)
  return { epoch: chain.epoch, hash: chain.hash(), peer: row(r), formula: REPUTATION_FORMULA }
}

/** `GET /v1/consensus/epochs`. */
export function epochsView (chain: EpochChain, params: ReadonlyMap<string, unknown>, kinds: string[]): EpochsView {
  return {
    epoch: chain.epoch,
    hash: chain.hash(),
    credits: chain.creditsHash(),
    guardians: { keys: [...chain.guardians.keys], threshold: chain.guardians.threshold },
    kinds,
    params: Object.fromEntries(params),
    epochs: chain.entries.map(e => ({ ...e, createdAt: new Date(e.createdAt).toISOString(), accepted: [...e.accepted], evidence: [...e.evidence] }))
  }
}

/**
 * A small positive bonus for gossipsub's application score from reputation: at most `max`, by share of the current
 * electorate's weight (0 for a peer without weight).
 */
export function reputationBonus (chain: EpochChain, peerId: string, max: number): number {
  const w = chain.electorate()
  const mine = w.weights.get(peerId) ?? 0n
  if (mine === 0n || w.total === 0n) return 0
  return Math.min(max, max * Number(mine * 10_000n / w.total) / 10_000 * w.weights.size)
}
