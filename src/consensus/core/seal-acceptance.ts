/**
 * The acceptance interface between the round protocol and consensus: participants vote on a round's seal after
 * recomputing it, and an implementation decides from the votes whether the seal is accepted (M_{round+1} is its
 * aggregate), rejected (it can no longer be accepted), or still pending. The first implementation is
 * `VerifiedMajority`; the reputation-weighted tally of the consensus subsystem implements the same interface.
 */

/** Identifies one seal proposal: a (round, attempt) of a job and the aggregate it proposes. */
export interface SealRef {
  jobId: string
  round: number
  attempt: number
  aggregateCid: string
}

/** One participant's verdict on a seal. */
export interface SealBallot extends SealRef {
  approve: boolean
}

/** Where a seal stands. */
export type SealOutcome = 'pending' | 'accepted' | 'rejected'

/**
 * What recording a vote did. `equivocation`: the voter approved two different aggregates in one (round, attempt), or
 * both approved and rejected one; all its votes in that (round, attempt) stop counting. `dropped`: over capacity.
 */
export type VoteReceipt =
  | { kind: 'counted' }
  | { kind: 'duplicate' }
  | { kind: 'dropped' }
  | { kind: 'equivocation', voter: string, first: SealBallot, second: SealBallot }

/** The plain-JSON state of an acceptance instance: the votes it holds, replayable into any implementation. */
export interface SealAcceptanceSnapshot {
  votes: Array<{ from: string, vote: SealBallot }>
}

/** Decides seal outcomes from participants' votes. Pure: no clock, no I/O. */
export interface SealAcceptance {
  /** Record a vote whose signature was verified; `from` is its signer. Votes may arrive before the seal. */
  onVote: (vote: SealBallot, from: string) => VoteReceipt
  /**
   * The outcome of a seal given its electorate (the round's participants; votes from anyone else do not count).
   * Must be monotone for a fixed electorate and non-equivocating voters: once accepted or rejected, more votes never
   * change it.
   */
  outcome: (ref: SealRef, electorate: readonly string[]) => SealOutcome
  /** Forget every vote of `jobId` for rounds below `belowRound` (they can no longer matter). */
  prune: (jobId: string, belowRound: number) => void
  snapshot: () => SealAcceptanceSnapshot
  /** Replace the state with a snapshot's votes. */
  restore: (snapshot: SealAcceptanceSnapshot) => void
}
