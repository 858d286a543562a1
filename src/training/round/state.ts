/**
 * Construction and checks of the machine's plain-JSON state.
 */
import { TrainingError } from '../errors.js'
import type { JobSpec } from '../protocol/messages.js'
import type { JobMachineSnapshot, JobMachineState, RoundState } from './types.js'

/** Bounds on what a machine stores for rounds it has not reached (memory under spam). */
export const ROUND_LIMITS = {
  /** Seals held for the current and later rounds... */
  maxSeals: 1024,
  /** ...of which at most this many from one sender, so one peer cannot crowd out the others. */
  maxSealsPerSender: 8,
  /** Adopted seals kept to help participants that fell behind (so a node away for up to this many rounds re-syncs). */
  history: 8,
  /** Delta announcements held for later rounds, in all and per sender. */
  maxFutureDeltas: 1024,
  maxFutureDeltasPerSender: 4,
  /** Votes from peers not (yet) known as participants, kept until their join arrives (oldest dropped first). */
  maxStrangerVotes: 1024
} as const

/** A fresh round on base `baseModelCid`. */
export function newRound (round: number, baseModelCid: string, baseModelHash: string | null, startedAt: number | null, electorate: string[] | null = null): RoundState {
  return {
    round,
    baseModelCid,
    baseModelHash,
    electorate,
    startedAt,
    closedAt: null,
    announcedAt: startedAt,
    attempt: 0,
    attemptStartedAt: null,
    deltas: [],
    equivocators: [],
    invalid: [],
    unavailable: [],
    trainRequested: false,
    ownDeltaCid: null,
    aggregateRequest: null,
    sealedAttempts: [],
    verdicts: {},
    promises: [],
    promisedAttempts: {},
    ownVotes: [],
    penalised: []
  }
}

/** The state of a machine that has seen nothing of `job` yet: round 0 on the initial model, not joined. */
export function initialState (job: JobSpec): JobMachineState {
  return {
    jobId: job.id,
    joined: false,
    samples: 0,
    members: {},
    current: newRound(0, job.initialModelCid, null, null),
    lock: null,
    history: [],
    helpedAt: null,
    oldRoundActs: [],
    seals: [],
    futureDeltas: [],
    strangerVotes: [],
    finished: null,
    reconfigs: []
  }
}

/** Check that a snapshot is one of ours for `job` (the shell may hand back anything it found on disk). */
export function checkSnapshot (s: JobMachineSnapshot, job: JobSpec): void {
  if (s == null || typeof s !== 'object' || s.v !== 1) throw new TrainingError('ERR_SNAPSHOT', 'unknown job machine snapshot version')
  if (s.state?.jobId !== job.id) throw new TrainingError('ERR_SNAPSHOT', 'snapshot belongs to another job')
  if (s.state.current == null || !Array.isArray(s.state.seals) || !Array.isArray(s.state.futureDeltas) || !Array.isArray(s.state.history) ||
      !Array.isArray(s.state.strangerVotes) || !Array.isArray(s.acceptance?.votes)) {
    throw new TrainingError('ERR_SNAPSHOT', 'snapshot is incomplete')
  }
}
