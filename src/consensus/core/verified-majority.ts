/**
 * The first seal acceptance rule: a seal is accepted when a strict majority of its electorate (the round's
 * participants) approve it, and rejected as soon as that majority can no longer be reached. Every voter recomputed the
 * aggregate before approving, hence "verified". Heads are counted, not reputation: the reputation-weighted tally of the
 * consensus subsystem replaces this behind the same interface.
 *
 * Safety: within one attempt, two different seals can both reach a strict majority of the same electorate only if some
 * voter approved both, which honest voters never do. Across attempts the round machine runs Paxos (promises, and
 * re-proposal of the highest-attempt approved aggregate), so with honest voters and an agreed electorate at most one
 * aggregate per round is accepted. Equivocating voters (two approvals in one attempt, or approve and reject of one seal)
 * are detected and lose all their votes in that attempt; the rule is not Byzantine-fault tolerant beyond that (a 2/3
 * weighted quorum is the consensus subsystem's job).
 */
import type { SealAcceptance, SealAcceptanceSnapshot, SealBallot, SealOutcome, SealRef, VoteReceipt } from './seal-acceptance.js'

/** Options of {@link VerifiedMajority}. */
export interface VerifiedMajorityOptions {
  /** Bound on stored votes (memory under vote spam); further votes are dropped. Default 100_000. */
  maxVotes?: number
}

interface AttemptVotes {
  jobId: string
  round: number
  /** voter -> aggregateCid -> approve */
  byVoter: Map<string, Map<string, boolean>>
  equivocators: Set<string>
  /** Every counted or equivocating ballot, in arrival order (the snapshot). */
  log: Array<{ from: string, vote: SealBallot }>
}

const attemptKey = (jobId: string, round: number, attempt: number): string => `${jobId}\n${round}\n${attempt}`

/** Strict-majority seal acceptance over the round's participants. */
export class VerifiedMajority implements SealAcceptance {
  private readonly attempts = new Map<string, AttemptVotes>()
  private stored = 0
  private readonly maxVotes: number

  constructor (opts: VerifiedMajorityOptions = {}) {
    this.maxVotes = opts.maxVotes ?? 100_000
  }

  onVote (vote: SealBallot, from: string): VoteReceipt {
    const key = attemptKey(vote.jobId, vote.round, vote.attempt)
    let a = this.attempts.get(key)
    const mine = a?.byVoter.get(from)
    const prior = mine?.get(vote.aggregateCid)
    if (prior === vote.approve) return { kind: 'duplicate' }
    if (a?.equivocators.has(from) === true) return { kind: 'duplicate' }
    if (this.stored >= this.maxVotes) return { kind: 'dropped' }
    if (a == null) {
      a = { jobId: vote.jobId, round: vote.round, byVoter: new Map(), equivocators: new Set(), log: [] }
      this.attempts.set(key, a)
    }
    const ballot: SealBallot = { jobId: vote.jobId, round: vote.round, attempt: vote.attempt, aggregateCid: vote.aggregateCid, approve: vote.approve }
    a.log.push({ from, vote: ballot })
    this.stored++
    let votes = mine
    if (votes == null) {
      votes = new Map()
      a.byVoter.set(from, votes)
    }
    // conflicting with an earlier ballot of this voter in this attempt?
    let conflict: SealBallot | undefined
    if (prior !== undefined) {
      conflict = { ...ballot, approve: prior }
    } else if (vote.approve) {
      for (const [cid, approve] of votes) {
        if (approve) { conflict = { ...ballot, aggregateCid: cid, approve }; break }
      }
    }
    if (prior === undefined) votes.set(vote.aggregateCid, vote.approve)
    if (conflict != null) {
      a.equivocators.add(from)
      return { kind: 'equivocation', voter: from, first: conflict, second: ballot }
    }
    return { kind: 'counted' }
  }

  outcome (ref: SealRef, electorate: readonly string[]): SealOutcome {
    const voters = new Set(electorate)
    const n = voters.size
    if (n === 0) return 'pending'
    const a = this.attempts.get(attemptKey(ref.jobId, ref.round, ref.attempt))
    let approvals = 0
    let cannot = 0
    if (a != null) {
      for (const voter of voters) {
        const votes = a.byVoter.get(voter)
        if (votes == null) continue
        if (a.equivocators.has(voter)) { cannot++; continue }
        const v = votes.get(ref.aggregateCid)
        if (v === true) approvals++
        else if (v === false) cannot++
        else if ([...votes.values()].includes(true)) cannot++ // approved another aggregate in this attempt
      }
    }
    if (2 * approvals > n) return 'accepted'
    if (2 * (n - cannot) <= n) return 'rejected'
    return 'pending'
  }

  prune (jobId: string, belowRound: number): void {
    for (const [key, a] of this.attempts) {
      if (a.jobId === jobId && a.round < belowRound) {
        this.stored -= a.log.length
        this.attempts.delete(key)
      }
    }
  }

  snapshot (): SealAcceptanceSnapshot {
    const votes: SealAcceptanceSnapshot['votes'] = []
    for (const a of this.attempts.values()) for (const e of a.log) votes.push({ from: e.from, vote: { ...e.vote } })
    return { votes }
  }

  restore (snapshot: SealAcceptanceSnapshot): void {
    this.attempts.clear()
    this.stored = 0
    for (const { from, vote } of snapshot.votes) this.onVote(vote, from)
  }
}
