/**
 * The vocabulary of the round state machine: the events the shell feeds it, the actions it asks the shell to carry
 * out, its options, and its plain-JSON snapshot.
 */
import type { ReputationView, SealAcceptance, SealAcceptanceSnapshot, SealBallot, SealRef } from '../../consensus/index.js'
import type { JobSpec, RoundSeal, SealedDelta, SealVote, TrainingMessage, TrainingMetrics } from '../protocol/messages.js'

/** Why the machine asks the shell to penalise a peer (reputation and gossip scoring are the shell's business). */
export type PenaltyReason =
  | 'equivocation-delta' // two different deltas for one round
  | 'equivocation-seal' // two different seals for one (round, attempt)
  | 'equivocation-vote' // conflicting votes in one (round, attempt)
  | 'invalid-delta' // the delta's bytes prove it unusable (undecodable, wrong shape, NaN, over the size limit)
  | 'unavailable-delta' // we could not fetch the delta in time (its producer died, or the mesh is slow): a lighter charge
  | 'bad-seal' // a seal that is provably wrong: aggregate mismatch, wrong metrics, lies about a delta, too few deltas

/** Why a verification came back negative. Only 'mismatch' (we recomputed something else) blames the aggregator. */
export type VerifyFailure = 'mismatch' | 'invalid-delta' | 'unavailable'

/** What the shell tells the machine. Every event is handled at a time `now` passed alongside it. */
export type JobEvent =
  /** A message that passed `validateTrainingGossip`; `from` is its signer, `seq` its envelope seq. */
  | { kind: 'message', from: string, seq: number, msg: TrainingMessage }
  /** Time passed (call at `nextWakeAt()` or periodically). */
  | { kind: 'tick' }
  /** The operator joins the job with `samples` local training rows. */
  | { kind: 'join', samples: number }
  /** The operator leaves the job. */
  | { kind: 'leave' }
  /** Local training for `round` finished and the compressed delta is stored in Helia. */
  | { kind: 'local-delta-ready', round: number, baseModelCid: string, cid: string, samples: number, bytes: number, metrics: TrainingMetrics }
  /**
   * The aggregate asked for by an `aggregate` action: `aggregateCid` is the CID of the new model M_{round+1}, `deltas`
   * the cids it was computed from (must equal the action's list).
   */
  | { kind: 'aggregate-computed', round: number, attempt: number, aggregateCid: string, modelHash: string, deltas: string[] }
  /** The result of a `verify` action: recomputing the seal's aggregate gave (ok) or did not give its modelHash/CID. */
  | { kind: 'seal-verified', round: number, attempt: number, aggregateCid: string, ok: boolean, reason?: VerifyFailure }
  /** The shell found a delta unusable while aggregating or verifying: its bytes prove it (the same everywhere). */
  | { kind: 'delta-invalid', round: number, cid: string, peerId: string, reason: string }
  /**
   * The shell could not fetch a delta in time. Unlike `delta-invalid` this proves nothing about the delta (others may
   * hold it): our own aggregates leave it out, but seals that list it are still verified, fetching it again.
   */
  | { kind: 'delta-unavailable', round: number, cid: string, peerId: string, reason: string }

/** What the machine asks the shell to do, in order. */
export type JobAction =
  /** Fetch M_round (`baseModelCid`, whose modelHash is `modelHash` when known), train locally, store the delta. */
  | { kind: 'train', round: number, baseModelCid: string, modelHash: string | null }
  /** Sign (next seq) and gossip on TRAINING_TOPIC. */
  | { kind: 'publish', msg: TrainingMessage }
  /**
   * We seal this attempt: fetch M_round and the listed deltas (sorted by cid), aggregate them with the job's rule
   * (weights = samples), apply to M_round, store the new model, answer `aggregate-computed` (or `delta-invalid` for
   * each unusable delta; the machine then asks again without them).
   */
  | { kind: 'aggregate', round: number, attempt: number, baseModelCid: string, deltas: SealedDelta[] }
  /** Recompute `seal` from its base and listed deltas exactly as `aggregate` would; answer `seal-verified`. */
  | { kind: 'verify', seal: RoundSeal }
  /**
   * A seal of `round` was accepted: the job's model is now M_{round+1} = `modelCid` (pin it, train on it next).
   * `aggregator`: who published the accepted seal (the rotation's aggregator of its attempt).
   */
  | { kind: 'model-accepted', round: number, modelCid: string, modelHash: string, metrics: TrainingMetrics, seal: RoundSeal, aggregator: string }
  | { kind: 'penalise', peerId: string, reason: PenaltyReason, round: number }
  /** The job is over: `rounds` rounds were sealed, or the accepted seal's accuracy reached the target. */
  | { kind: 'job-finished', reason: 'rounds' | 'target', round: number, modelCid: string, modelHash: string }

/** How a JobMachine is built. */
export interface JobMachineOptions {
  /** Our peer id. */
  self: string
  job: JobSpec
  /** Orders aggregator candidates; default: all equal. Must agree across nodes. */
  reputation?: ReputationView
  /** Decides seals from votes; default: a fresh VerifiedMajority. */
  acceptance?: RoundAcceptance
}

/**
 * A SealAcceptance, optionally certifying (seals through consensus): then every adoption also needs `certified`, a QC
 * that accepted a proposal of that seal naming exactly that electorate. That covers the round's electorate of any size
 * and a creator's reduced electorate (round/electorate.ts), whose seal then needs both the QC and every member's counted
 * approval (the QC may hold only 2/3 of it, and all of it is what meets every strict majority). `outcome(ref, [p])`
 * stays the per-voter question (did p approve, can p still approve), which drives promises and re-proposal.
 */
export interface RoundAcceptance extends SealAcceptance {
  certified?: (ref: SealRef, electorate: readonly string[]) => boolean
}

/** A participant's promise for an attempt (see RoundPromise). */
export interface PromiseEntry {
  from: string
  attempt: number
  locked: { attempt: number, aggregateCid: string } | null
}

/** A peer's latest join or leave, by envelope seq. */
export interface MemberState { seq: number, joined: boolean, samples: number }

/** A delta announcement the machine accepted (from a participant, on the right base). */
export interface DeltaEntry {
  round: number
  peerId: string
  cid: string
  baseModelCid: string
  samples: number
  bytes: number
  metrics: TrainingMetrics
  arrivedAt: number
}

/** A seal we hold, and what we did about it. */
export interface SealEntry {
  seal: RoundSeal
  from: string
  receivedAt: number
  /** new: not looked at yet (or not eligible yet); verifying: `verify` sent; voted: our vote is out. */
  status: 'new' | 'verifying' | 'voted'
  /** Another, different seal came from the same aggregator for the same (round, attempt). */
  equivocated: boolean
}

/** The current round as this node sees it. */
export interface RoundState {
  round: number
  baseModelCid: string
  /** modelHash of the base (null for round 0: the initial model is checked by the shell against the spec). */
  baseModelHash: string | null
  /**
   * Who votes on this round's seals and takes turns sealing it: the contributors listed in the seal of the previous
   * round, which every node that adopted that seal agrees on. Null in round 0 (and until a node that was away adopts a
   * seal): the participants as this node sees them.
   */
  electorate: string[] | null
  /** When the round started here (round 0: when enough participants joined); null until then. */
  startedAt: number | null
  /** When the round closed here (deadline, everyone delivered, or a seal arrived); null while collecting. */
  closedAt: number | null
  /** Last time we (re-)announced our join and delta while the round stayed open. */
  announcedAt: number | null
  attempt: number
  /** When we moved to the current attempt (informational: the schedule runs from closedAt). */
  attemptStartedAt: number | null
  deltas: DeltaEntry[]
  equivocators: string[]
  /** Delta cids the shell reported unusable (their bytes prove it): a seal listing one is refused unverified. */
  invalid: string[]
  /**
   * Delta cids we failed to fetch in time: left out of our own aggregates (so a dead producer cannot stall the round)
   * but not held against seals that list them, which we verify (and so fetch again); a verified seal clears them.
   * Treating a timeout as invalid made a loaded node vote no on the same aggregate at every attempt, and more than a
   * third of such votes kept a QC from ever forming while fewer than half could not release the promised lock.
   */
  unavailable: string[]
  trainRequested: boolean
  ownDeltaCid: string | null
  /** The aggregate we asked the shell for (one per attempt), if we seal this attempt. */
  aggregateRequest: { attempt: number, cids: string[] } | null
  /** Attempts we published a seal for. */
  sealedAttempts: number[]
  /** Verification verdicts by aggregateCid (a re-proposed seal is not recomputed). */
  verdicts: Record<string, boolean>
  /** Promises of participants (ours included) for attempts >= the current one. */
  promises: PromiseEntry[]
  /** The highest attempt each electorate member promised this round (how far the others are). */
  promisedAttempts: Record<string, number>
  /** The votes we cast in this round (re-sent to stragglers once the round is decided). */
  ownVotes: SealVote[]
  /** `${peer}|${reason}` already penalised this round. */
  penalised: string[]
}

/** The machine's whole state: plain JSON, persisted by the shell (Level) to survive a crash. */
export interface JobMachineState {
  jobId: string
  joined: boolean
  samples: number
  members: Record<string, MemberState>
  current: RoundState
  /** The highest-attempt aggregate we approved in the current round: what our promises report. */
  lock: { round: number, attempt: number, aggregateCid: string } | null
  /**
   * The last seals we adopted (oldest first, ROUND_LIMITS.history of them) with the votes we cast for each: re-sent to a
   * participant that is stuck in one of those rounds, so it can adopt them one by one, each checked against the exact
   * electorate the previous one names. Kept after the job finished, for the same reason. `deltas`: the
   * `${peer}|${cid}` announced for that round, to tell a repeated announcement (a stuck peer) from a late one.
   */
  history: Array<{ seal: RoundSeal, votes: SealVote[], deltas: string[], aggregator?: string }>
  /** When we last re-sent `history` (at most once per sealTimeoutMs). */
  helpedAt: number | null
  /** `promise|vote/${round}/${attempt}` we sent for rounds in `history` (each once; bounded). */
  oldRoundActs: string[]
  /** Seals for the current and later rounds. */
  seals: SealEntry[]
  /** Deltas for later rounds, replayed when we get there. */
  futureDeltas: DeltaEntry[]
  /**
   * Votes from peers we do not know as participants yet (a node that just came back has not seen their joins):
   * counted once their join arrives. Bounded, so vote spam from strangers cannot crowd out participants' votes.
   */
  strangerVotes: Array<{ from: string, vote: SealBallot }>
  finished: { reason: 'rounds' | 'target', round: number } | null
  /** The creator's electorate records (round/electorate.ts), the first per round; absent in older snapshots. */
  reconfigs?: ElectorateRecord[]
}

/**
 * The creator's reconfiguration of a stalled round: from `fromAttempt` on, all of `electorate` (a subset holding at
 * least half of the round's electorate) is a quorum too.
 */
export interface ElectorateRecord { round: number, fromAttempt: number, electorate: string[] }

/** What `snapshot()` returns and `restore()` takes: plain JSON. */
export interface JobMachineSnapshot {
  v: 1
  state: JobMachineState
  acceptance: SealAcceptanceSnapshot
}

/** A summary for status displays and metrics. */
export interface JobMachineView {
  jobId: string
  round: number
  attempt: number
  phase: 'waiting' | 'collecting' | 'sealing' | 'finished'
  baseModelCid: string
  joined: boolean
  participants: string[]
  /** Who votes on and seals this round (see RoundState.electorate). */
  electorate: string[]
  deltas: number
  aggregator: string | null
}

/** What a round that takes more than one attempt waits for (JobMachine.stall), for the shell's info log. */
export interface RoundStall {
  round: number
  attempt: number
  electorate: string[]
  /** Members needed for a majority (of promises, or of approvals). */
  majority: number
  aggregator: string | null
  /** Members whose promise for the current attempt we hold. */
  promised: string[]
  /** The highest attempt each member promised (ours: our attempt). */
  promisedAttempts: Record<string, number>
  /** Members two attempts or more behind us: stopped or cut off. */
  silent: string[]
  usableDeltas: number
  /** The aggregate we approved in this round, if any (our promises report it). */
  lock: string | null
  reason: string
}
