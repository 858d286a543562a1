/**
 * The epoch transition `weights(e+1) = nextWeights(weights(e), records(e), params)`: a pure function of the agreed
 * history, so every honest node holds the same reputation table (compare `reputationHash`). All integer arithmetic
 * (bigint, basis points); independent of the order of the records.
 *
 * For each peer i (those in the table, and those whose work was accepted in epoch e):
 *
 *     decay_i   = ceil(score_i * decay)                                  the EMA's forgetting (rounded up: idle -> 0)
 *     work_i    = workUnit * sum over the (job, round)s i contributed to (accepted seals) of share_i, where
 *                 share_i = 1 for an established contributor, and for one on probation (or new) min(1, E / P), E and
 *                 P the round's established and probation contributors: what a round credits identities on
 *                 probation together is at most what it credits its established ones (a colluder's tiny job with
 *                 fresh identities credits them no more than the colluder), floor of workUnit * min(P, E) / P
 *                 each; every share is 1 while no peer has earned weight (the head-count era, genesis)
 *     bonds_i   = floor(w_i * bond * agreed_i / F)                       Yuma-style: w_i is i's effective weight in
 *                                                                        the snapshot of e, F the number of finalized
 *                                                                        (accepted or rejected) proposals of e,
 *                                                                        agreed_i those i voted with (yes on
 *                                                                        accepted, no on rejected); 0 for a peer
 *                                                                        with evidence against it in e
 *     gross_i   = score_i - decay_i + work_i + bonds_i
 *     slashes_i = gross_i - floor(gross_i * (1 - slash)^k_i)             k_i = distinct equivocations proven in e
 *     capped_i  = what water-filling removes so no score exceeds maxShare of the sum (skipped when fewer than
 *                 1 / maxShare peers hold a score: the cap cannot hold then)
 *     score'_i  = gross_i - slashes_i - capped_i
 *
 * With bond < decay, a peer that only votes decays; weight is earned by verified work. Peers whose score reaches 0
 * leave the table (a returning peer starts probation again). New peers enter with `since = e + 1`.
 */
import { ConsensusError } from '../errors.js'
import type { VoteChoice } from '../protocol/schemas.js'
import { BPS, type ReputationParams } from './params.js'
import { effectiveWeights, onProbation, type ReputationEntry, type ReputationTable } from './weights.js'

/** An accepted round seal: the peers whose deltas it includes. */
export interface SealRecord {
  jobId: string
  round: number
  contributors: readonly string[]
  /** The electorate whose QC accepted it, where its kind names one (checked by the credit rule, core/credit.ts). */
  electorate?: readonly string[]
}

/** A proposal finalized in the epoch and the votes its tally counted. */
export interface OutcomeRecord {
  proposalId: string
  outcome: 'accepted' | 'rejected'
  votes: ReadonlyArray<{ voter: string, choice: VoteChoice }>
}

/** Verified equivocation evidence finalized in the epoch. */
export interface EquivocationRecord {
  voter: string
  proposalId: string
}

/** What an `epoch` proposal lists for epoch e (already verified: QCs checked, evidence opened). */
export interface EpochRecords {
  seals: readonly SealRecord[]
  outcomes: readonly OutcomeRecord[]
  evidence: readonly EquivocationRecord[]
}

/** How one peer's score moved in a transition (what `GET /v1/reputation/{peerId}` explains). */
export interface ScoreParts {
  previous: bigint
  decay: bigint
  work: bigint
  bonds: bigint
  slashes: bigint
  capped: bigint
  score: bigint
  /** Accepted contributions, agreeing votes and proven equivocations counted. */
  contributions: number
  agreed: number
  evidence: number
  /** Age in epochs and probation at the new epoch. */
  age: number
  probation: boolean
}

/** The new table and every touched peer's parts. */
export interface EpochTransition {
  table: ReputationTable
  parts: Map<string, ScoreParts>
}

const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b

/**
 * Distinct (job, round) contributions per peer, and the work they credit (see `work_i` in the module comment):
 * `established(peer)` tells an established contributor from one on probation; `bounded` false credits every share 1.
 */
function countWork (seals: readonly SealRecord[], workUnit: bigint, established: (peer: string) => boolean, bounded: boolean): Map<string, { contributions: number, work: bigint }> {
  const rounds = new Map<string, Set<string>>()
  for (const s of seals) {
    const key = `${s.jobId}\n${s.round}`
    const set = rounds.get(key) ?? new Set<string>()
    for (const peer of s.contributors) set.add(peer)
    rounds.set(key, set)
  }
  const out = new Map<string, { contributions: number, work: bigint }>()
  for (const contributors of rounds.values()) {
    const all = [...contributors]
    const e = BigInt(all.filter(established).length)
    const p = BigInt(all.length) - e
    const probationWork = !bounded || p <= e ? workUnit : workUnit * e / p
    for (const peer of all) {
      const c = out.get(peer) ?? { contributions: 0, work: 0n }
      c.contributions++
      c.work += established(peer) ? workUnit : probationWork
      out.set(peer, c)
    }
  }
  return out
}

/** Agreeing votes per voter, over distinct finalized proposals; F = their number. */
function countAgreement (outcomes: readonly OutcomeRecord[]): { agreed: Map<string, number>, finalized: number } {
  const byId = new Map<string, { outcome: string, choices: Map<string, Set<VoteChoice>> }>()
  for (const o of outcomes) {
    let entry = byId.get(o.proposalId)
    if (entry == null) {
      entry = { outcome: o.outcome, choices: new Map() }
      byId.set(o.proposalId, entry)
    } else if (entry.outcome !== o.outcome) {
      throw new ConsensusError('ERR_RECORDS', `epoch records give proposal ${o.proposalId} two outcomes`)
    }
    for (const v of o.votes) {
      let set = entry.choices.get(v.voter)
      if (set == null) { set = new Set(); entry.choices.set(v.voter, set) }
      set.add(v.choice)
    }
  }
  const agreed = new Map<string, number>()
  for (const { outcome, choices } of byId.values()) {
    const agreeing: VoteChoice = outcome === 'accepted' ? 'yes' : 'no'
    for (const [voter, set] of choices) {
      if (set.size === 1 && set.has(agreeing)) agreed.set(voter, (agreed.get(voter) ?? 0) + 1)
    }
  }
  return { agreed, finalized: byId.size }
}

/**
 * Water-filling cap: the largest L such that min(s_i, L) keeps every score at most `maxShareBps` of the new sum.
 * Returns undefined when the cap cannot hold (fewer than 1 / maxShare positive scores) or nobody exceeds it.
 */
export function capLimit (scores: readonly bigint[], maxShareBps: bigint): bigint | undefined {
  const sorted = scores.filter(s => s > 0n).sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))
  if (BigInt(sorted.length) * maxShareBps < BPS) return undefined
  let rest = 0n
  for (const s of sorted) rest += s
  // k = how many top scores are cut to L; L = m * rest_k / (1 - k m), valid when it lies between s_k and s_{k-1}
  for (let k = 0; k < sorted.length; k++) {
    const denom = BPS - BigInt(k) * maxShareBps
    if (denom <= 0n) return undefined
    const limit = maxShareBps * rest / denom
    if (sorted[k] <= limit) return k === 0 ? undefined : limit
    rest -= sorted[k]
  }
  return undefined
}

/** One epoch transition; see the module comment for the formula. */
export function nextWeights (table: ReputationTable, records: EpochRecords, params: ReputationParams): EpochTransition {
  const epoch = table.epoch + 1
  const snapshot = effectiveWeights(table, params)
  const established = (peer: string): boolean => snapshot.weights.has(peer) && !snapshot.probation.has(peer)
  const work = countWork(records.seals, params.workUnit, established, !snapshot.headCount)
  const { agreed, finalized } = countAgreement(records.outcomes)
  const evidence = new Map<string, Set<string>>()
  for (const e of records.evidence) {
    let set = evidence.get(e.voter)
    if (set == null) { set = new Set(); evidence.set(e.voter, set) }
    set.add(e.proposalId)
  }
  const peers = new Set<string>([...table.peers.keys(), ...work.keys()])
  const parts = new Map<string, ScoreParts>()
  const keep = BPS - params.slashBps
  for (const peer of [...peers].sort()) {
    const prev = table.peers.get(peer)
    const previous = prev?.score ?? 0n
    const decay = ceilDiv(previous * params.decayBps, BPS)
    const { contributions, work: earned } = work.get(peer) ?? { contributions: 0, work: 0n }
    const k = evidence.get(peer)?.size ?? 0
    const agreeing = k > 0 ? 0 : (agreed.get(peer) ?? 0)
    const w = snapshot.weights.get(peer) ?? 0n
    const bonds = finalized === 0 ? 0n : w * params.bondBps * BigInt(agreeing) / (BPS * BigInt(finalized))
    const gross = previous - decay + earned + bonds
    const kept = k === 0 ? gross : gross * keep ** BigInt(k) / BPS ** BigInt(k)
    parts.set(peer, {
      previous, decay, work: earned, bonds, slashes: gross - kept, capped: 0n, score: kept,
      contributions, agreed: agreeing, evidence: k, age: 0, probation: true
    })
  }
  const limit = capLimit([...parts.values()].map(p => p.score), params.maxShareBps)
  const next = new Map<string, ReputationEntry>()
  for (const [peer, p] of parts) {
    if (limit !== undefined && p.score > limit) { p.capped = p.score - limit; p.score = limit }
    const since = table.peers.get(peer)?.since ?? epoch
    p.age = epoch - since
    const entry = { score: p.score, since }
    p.probation = onProbation(entry, epoch, params)
    if (p.score > 0n) next.set(peer, entry)
  }
  return { table: { epoch, peers: next }, parts }
}

/** Genesis: the pre-trusted peers with their scores, established from the start (no probation). */
export function genesisTable (epoch: number, pretrusted: ReadonlyArray<{ peer: string, score: bigint }>, params: ReputationParams): ReputationTable {
  const peers = new Map<string, ReputationEntry>()
  for (const { peer, score } of [...pretrusted].sort((a, b) => (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0))) {
    if (score > 0n) peers.set(peer, { score, since: epoch - params.probationEpochs })
  }
  return { epoch, peers }
}

/** Replay a chain of epochs from `start` (a newcomer's catch-up after it verified every epoch's QC). */
export function replayEpochs (start: ReputationTable, history: readonly EpochRecords[], params: ReputationParams): ReputationTable {
  let table = start
  for (const records of history) table = nextWeights(table, records, params).table
  return table
}
