/**
 * The tally of one proposal: its status from the weights of the epoch it names (restricted to its electorate), the
 * votes seen, and guardian vetoes. Pure: `now` is injected.
 *
 * - accepted: the yes weight reaches 2/3 of the electorate's weight (a QC exists);
 * - rejected: as soon as yes can no longer reach 2/3 (yes + the weight not yet decided is short of it);
 * - expired: `now >= expiresAt` and neither of the above;
 * - vetoed: k distinct configured guardians vetoed within the window (by default until `expiresAt`); beats a QC.
 *
 * A voter whose votes on the proposal conflict (two different choices) equivocates: the first conflicting pair is
 * returned as evidence and none of its votes count (its weight can no longer help either side). The same vote seen
 * twice counts once. Votes of non-members and on other proposals are ignored.
 */
import type { VoteChoice } from '../protocol/schemas.js'
import { quorumOf, reachesQuorum, type ElectorateWeights } from './weights.js'

/** Where a proposal stands. */
export type ProposalStatus = 'pending' | 'accepted' | 'rejected' | 'expired' | 'vetoed'

/** A vote whose signature was verified; `record` is whatever the caller keeps (the signed envelope) for evidence. */
export interface CastVote<R = unknown> {
  voter: string
  proposalId: string
  choice: VoteChoice
  record?: R
}

/** A verified guardian veto and when it was signed (its envelope seq, ms). */
export interface CastVeto {
  guardian: string
  proposalId: string
  at: number
}

/** The configured guardians: `threshold` of `keys` (peer ids) together veto. A threshold of 0 disables vetoes. */
export interface GuardianSet {
  keys: readonly string[]
  threshold: number
}

/** One voter's two conflicting votes on one proposal. */
export interface Equivocation<R = unknown> {
  voter: string
  first: CastVote<R>
  second: CastVote<R>
}

/** What the tally needs about a proposal. */
export interface TallyInput<R = unknown> {
  proposalId: string
  expiresAt: number
  /** The electorate's weights under the proposal's snapshot (`electorateWeights`). */
  weights: ElectorateWeights
  votes: ReadonlyArray<CastVote<R>>
  vetoes?: readonly CastVeto[]
  guardians?: GuardianSet
  /** Vetoes signed after this do not count; default `expiresAt`. */
  vetoUntil?: number
  now: number
}

/** The tally's figures (what `GET /v1/proposals/{id}` shows as `tally`) and its status. */
export interface TallyResult<R = unknown> {
  status: ProposalStatus
  yes: bigint
  no: bigint
  abstain: bigint
  /** The yes weight that reaches 2/3: ceil(2 * weightTotal / 3). */
  quorum: bigint
  weightTotal: bigint
  /** The counted yes voters, sorted (the members of a QC). */
  yesVoters: string[]
  /** Distinct configured guardians that vetoed in time. */
  vetoes: number
  evidence: Array<Equivocation<R>>
}

/** The number of distinct configured guardians that vetoed `proposalId` by `until`. */
export function countVetoes (proposalId: string, vetoes: readonly CastVeto[], guardians: GuardianSet | undefined, until: number): number {
  if (guardians == null || guardians.threshold <= 0) return 0
  const keys = new Set(guardians.keys)
  const who = new Set<string>()
  for (const v of vetoes) if (v.proposalId === proposalId && keys.has(v.guardian) && v.at <= until) who.add(v.guardian)
  return who.size
}

/** Tally one proposal. */
export function tallyProposal<R> (input: TallyInput<R>): TallyResult<R> {
  const { weights } = input
  const chosen = new Map<string, CastVote<R>>()
  const evidence = new Map<string, Equivocation<R>>()
  for (const v of input.votes) {
    if (v.proposalId !== input.proposalId || !weights.weights.has(v.voter) || evidence.has(v.voter)) continue
    const prior = chosen.get(v.voter)
    if (prior == null) chosen.set(v.voter, v)
    else if (prior.choice !== v.choice) {
      evidence.set(v.voter, { voter: v.voter, first: prior, second: v })
      chosen.delete(v.voter)
    }
  }
  let yes = 0n
  let no = 0n
  let abstain = 0n
  let lost = 0n
  const yesVoters: string[] = []
  for (const [voter, v] of chosen) {
    const w = weights.weights.get(voter) ?? 0n
    if (v.choice === 'yes') { yes += w; yesVoters.push(voter) } else if (v.choice === 'no') no += w
    else abstain += w
  }
  for (const voter of evidence.keys()) lost += weights.weights.get(voter) ?? 0n
  const total = weights.total
  const undecided = total - yes - no - abstain - lost
  const vetoes = countVetoes(input.proposalId, input.vetoes ?? [], input.guardians, input.vetoUntil ?? input.expiresAt)
  let status: ProposalStatus = 'pending'
  if (input.guardians != null && input.guardians.threshold > 0 && vetoes >= input.guardians.threshold) status = 'vetoed'
  else if (reachesQuorum(yes, total)) status = 'accepted'
  else if (!reachesQuorum(yes + undecided, total)) status = 'rejected'
  else if (input.now >= input.expiresAt) status = 'expired'
  yesVoters.sort()
  return { status, yes, no, abstain, quorum: quorumOf(total), weightTotal: total, yesVoters, vetoes, evidence: [...evidence.values()] }
}
