/**
 * The training wire messages: a discriminated union (`type`) carried in signed envelopes (TRAINING_DOMAIN, version 1)
 * on TRAINING_TOPIC. Only metadata rides in gossip: deltas and models are referenced by their Helia CIDs.
 *
 * The schemas hold every bound (from limits.ts); the rules between fields are in checks.ts and job-check.ts. The
 * validator (record.ts) still tells a malformed message (ERR_SCHEMA) from one out of bounds (ERR_BOUNDS).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { ChainAddressSchema, CidSchema, JobSpecSchema, ModelHashSchema, PeerIdSchema, WeiSchema, closed as obj, type JobSpec, type JobTiming } from './job-schema.js'
import { TRAINING_LIMITS as L } from './limits.js'

export { TRAINING_LIMITS } from './limits.js'
/** The announced job (its schema is in job-schema.ts). */
export type { JobSpec, JobTiming }

/** The only envelope version this code writes and reads; others are ignored. */
export const TRAINING_MESSAGE_VERSION = 1
/** Envelope cap: a seal listing 256 deltas is ~35 KiB; anything beyond this is abuse. */
export const MAX_TRAINING_MESSAGE_BYTES = 64 * 1024

const Round = Type.Integer({ minimum: 0, maximum: L.maxRounds - 1 })
const Attempt = Type.Integer({ minimum: 0, maximum: L.maxAttempts - 1 })
const Samples = Type.Integer({ minimum: 1, exclusiveMaximum: L.maxSamples })
const JobId = JobSpecSchema.properties.id

/** Loss and accuracy as measured by a participant (or the median over a seal's deltas). */
export const MetricsSchema = obj({ loss: Type.Number({ minimum: 0 }), accuracy: Type.Number({ minimum: 0, maximum: 1 }) })
/** Loss and accuracy of a delta or seal. */
export type TrainingMetrics = Static<typeof MetricsSchema>

/** A job announcement, signed by the job's creator. */
export const JobAnnounceSchema = obj({ type: Type.Literal('job'), job: JobSpecSchema })
/** The signer takes part in a job with `samples` local training rows; re-sent as a heartbeat each round. */
export const JoinSchema = obj({ type: Type.Literal('join'), jobId: JobId, samples: Samples })
/** The signer stops taking part in a job. */
export const LeaveSchema = obj({ type: Type.Literal('leave'), jobId: JobId })
/** The signer's delta for `round`, trained on `baseModelCid`, is stored in Helia under `cid`. */
export const DeltaAnnounceSchema = obj({
  type: Type.Literal('delta'),
  jobId: JobId,
  round: Round,
  baseModelCid: CidSchema,
  cid: CidSchema,
  samples: Samples,
  bytes: Type.Integer({ minimum: 1, maximum: L.maxDeltaBytes }),
  metrics: MetricsSchema
})
/** One entry of a seal: a delta the aggregate was computed from. */
export const SealedDeltaSchema = obj({ cid: CidSchema, peerId: PeerIdSchema, samples: Samples })
/**
 * The aggregator's seal of a round: the deltas (sorted by cid) the aggregate M_{round+1} = aggregateCid was computed
 * from, its modelHash, and the median of the listed deltas' metrics.
 */
export const RoundSealSchema = obj({
  type: Type.Literal('seal'),
  jobId: JobId,
  round: Round,
  attempt: Attempt,
  baseModelCid: CidSchema,
  deltas: Type.Array(SealedDeltaSchema, { minItems: 1, maxItems: L.maxParticipants }),
  aggregateCid: CidSchema,
  modelHash: ModelHashSchema,
  metrics: MetricsSchema
})
/** A participant's verdict on a seal after recomputing it. */
export const SealVoteSchema = obj({
  type: Type.Literal('vote'),
  jobId: JobId,
  round: Round,
  attempt: Attempt,
  aggregateCid: CidSchema,
  approve: Type.Boolean(),
  reason: Type.Optional(Type.String({ maxLength: 256 }))
})

/**
 * Sent by a participant when it moves to attempt >= 1 of a round (Paxos' phase 1 over gossip): from now on it approves
 * no seal of an earlier attempt, and `locked` reports the highest-attempt aggregate it approved in this round, if any.
 * The attempt's aggregator waits for promises from a strict majority of participants and must re-propose the
 * highest-attempt locked aggregate among them; only with none may it propose a fresh one.
 */
export const RoundPromiseSchema = obj({
  type: Type.Literal('promise'),
  jobId: JobId,
  round: Round,
  // attempt 0 needs no promise
  attempt: Type.Integer({ minimum: 1, maximum: L.maxAttempts - 1 }),
  locked: Type.Optional(obj({ attempt: Attempt, aggregateCid: CidSchema }))
})

/**
 * The job's creator stops it for the whole mesh: every node stops the job at once, shows it `stopped` and trains no
 * further round. Only the creator's stop counts (see `stopIssue`); `round` is the round the creator was at.
 * Nodes that predate this type ignore it (an unknown type is ignored, not punished).
 */
export const JobStopSchema = obj({
  type: Type.Literal('stop'),
  jobId: JobId,
  round: Type.Integer({ minimum: 0, maximum: L.maxRounds }),
  reason: Type.Optional(Type.String({ maxLength: 256 }))
})

/**
 * The signer's evaluation of the global model accepted at `round` (M_{round+1}, `modelCid`) on its held-out split of
 * `samples` rows. Every node pools the evaluations of a seal's contributors into the job's one accuracy figure (the
 * mean weighted by `samples`). Older nodes ignore this type.
 */
export const ModelEvalSchema = obj({
  type: Type.Literal('eval'),
  jobId: JobId,
  round: Round,
  modelCid: CidSchema,
  accuracy: Type.Number({ minimum: 0, maximum: 1 }),
  loss: Type.Number({ minimum: 0 }),
  samples: Samples
})

/**
 * The job's creator shrinks a stalled round's electorate to the members it still hears from (issue 11: a voter lost
 * for good must not stall a job). From attempt `fromAttempt` of `round` on, a promise quorum or an acceptance may also
 * be *every* member of `electorate` (a subset of the round's electorate holding at least half of it), besides a strict
 * majority of the round's electorate; the aggregator rotation does not change. Every majority of the old electorate
 * meets the new one, so an aggregate a majority may have accepted is still reported in the promises and re-proposed.
 * Only the creator's first record for a round counts (round/electorate.ts). Nodes that predate this type ignore it.
 */
export const ElectorateChangeSchema = obj({
  type: Type.Literal('electorate'),
  jobId: JobId,
  round: Round,
  fromAttempt: Type.Integer({ minimum: 1, maximum: L.maxAttempts - 1 }),
  electorate: Type.Array(PeerIdSchema, { minItems: 1, maxItems: L.maxParticipants })
})

/**
 * A contributor to a rewarded job names the chain address its vouchers pay (signed by the contributor's peer key, so
 * only it can name its own). Sent when it joins and repeated with its rounds; the creator keeps the first per peer.
 * Older nodes ignore this type.
 */
export const PayeeSchema = obj({ type: Type.Literal('payee'), jobId: JobId, address: ChainAddressSchema })

const Bytes32 = Type.String({ pattern: '^0x[0-9a-fA-F]{64}$' })
/**
 * The creator's cumulative voucher to a contributor for `round` of a rewarded job: the EIP-712 voucher
 * {lockId = lockIdOf(payer, provider, salt), cumulativeAmount} signed by `payer` (the job's reward payer) in compact
 * form (r, vs), redeemable by `provider` in the CreditVault. The receiver verifies the EIP-712 signature itself; the
 * envelope only says who relayed it. `settle`: the payer asks for redemption now (the job's last round). Older nodes
 * ignore this type.
 */
export const RewardVoucherSchema = obj({
  type: Type.Literal('voucher'),
  jobId: JobId,
  round: Round,
  peerId: PeerIdSchema,
  payer: ChainAddressSchema,
  provider: ChainAddressSchema,
  salt: { ...WeiSchema, description: 'the lock\'s salt (uint96, decimal)' },
  cumulativeAmount: WeiSchema,
  r: Bytes32,
  vs: Bytes32,
  settle: Type.Optional(Type.Boolean())
})

/** A job announcement. */
export type JobAnnounce = Static<typeof JobAnnounceSchema>
/** A join (or heartbeat). */
export type JoinMessage = Static<typeof JoinSchema>
/** A leave. */
export type LeaveMessage = Static<typeof LeaveSchema>
/** A delta announcement. */
export type DeltaAnnounce = Static<typeof DeltaAnnounceSchema>
/** One delta a seal lists. */
export type SealedDelta = Static<typeof SealedDeltaSchema>
/** A round's seal. */
export type RoundSeal = Static<typeof RoundSealSchema>
/** A verdict on a seal. */
export type SealVote = Static<typeof SealVoteSchema>
/** A promise for a later attempt. */
export type RoundPromise = Static<typeof RoundPromiseSchema>
/** The creator's stop of a job. */
export type JobStop = Static<typeof JobStopSchema>
/** A node's evaluation of an accepted model. */
export type ModelEval = Static<typeof ModelEvalSchema>
/** The creator's reconfiguration of a stalled round's electorate. */
export type ElectorateChange = Static<typeof ElectorateChangeSchema>

/** A contributor's payee address. */
export type PayeeMessage = Static<typeof PayeeSchema>
/** A reward voucher. */
export type RewardVoucher = Static<typeof RewardVoucherSchema>

/** Every message on TRAINING_TOPIC. */
export type TrainingMessage = JobAnnounce | JoinMessage | LeaveMessage | DeltaAnnounce | RoundSeal | SealVote | RoundPromise | JobStop | ModelEval | ElectorateChange | PayeeMessage | RewardVoucher
/** The `type` of a training message. */
export type TrainingMessageType = TrainingMessage['type']

/** The schema of each message type, for per-type compilation (precise error paths, unknown types told apart). */
export const TRAINING_MESSAGE_SCHEMAS = {
  job: JobAnnounceSchema,
  join: JoinSchema,
  leave: LeaveSchema,
  delta: DeltaAnnounceSchema,
  seal: RoundSealSchema,
  vote: SealVoteSchema,
  promise: RoundPromiseSchema,
  stop: JobStopSchema,
  eval: ModelEvalSchema,
  electorate: ElectorateChangeSchema,
  payee: PayeeSchema,
  voucher: RewardVoucherSchema
} as const satisfies Record<TrainingMessageType, TSchema>
