/**
 * The training wire messages: a discriminated union (`type`) carried in signed envelopes (DOMAINS.training, version 1)
 * on TOPICS.training. Only metadata rides in gossip: deltas and models are referenced by their Helia CIDs.
 *
 * The schemas check shape and types (strings bounded, integers integral, numbers finite); numeric ranges and cross-field
 * rules live in `checks.ts` so each failure has its own code.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox'

/** The only envelope version this code writes and reads; others are ignored. */
export const TRAINING_MESSAGE_VERSION = 1
/** Envelope cap: a seal listing 256 deltas is ~35 KiB; anything beyond this is abuse. */
export const MAX_TRAINING_MESSAGE_BYTES = 64 * 1024

/** Numeric bounds every node enforces on training messages. */
export const TRAINING_LIMITS = {
  /** round < maxRounds; also the largest `rounds` a job may ask for. */
  maxRounds: 10_000,
  /** Seal attempts per round (each moves to the next aggregator in rotation). */
  maxAttempts: 1024,
  /** samples must be in [1, maxSamples). */
  maxSamples: 1e9,
  /** Participants per job, and so deltas per seal. */
  maxParticipants: 256,
  /** Largest encoded delta a DeltaAnnounce may advertise (1 GiB). */
  maxDeltaBytes: 2 ** 30,
  maxLocalEpochs: 1000,
  maxBatchSize: 1_000_000,
  maxLearningRate: 10,
  maxDeadlineK: 100,
  /** Upper bound of every timing field (7 days). */
  maxTimingMs: 7 * 24 * 3600 * 1000
} as const

const Str = (min: number, max: number): ReturnType<typeof Type.String> => Type.String({ minLength: min, maxLength: max })
const Hex64 = Type.String({ pattern: '^[0-9a-f]{64}$' })
/** A CID string; parsed and required canonical (CIDv1 base32) by the checks. */
const CidStr = Str(1, 128)
const PeerIdStr = Str(1, 128)
const Int = Type.Integer()
const Num = Type.Number()
const strict = { additionalProperties: false } as const
const obj = <T extends Record<string, TSchema>>(props: T) => Type.Object(props, strict)

/** Loss and accuracy as measured by a participant (or the median over a seal's deltas). */
export const MetricsSchema = obj({ loss: Num, accuracy: Num })
export type TrainingMetrics = Static<typeof MetricsSchema>

/** The network every node builds (mirrors `ModelSpec` in src/training/model/spec.ts). */
export const ModelSpecSchema = Type.Union([
  obj({ arch: Type.Literal('mlp'), layers: Type.Array(Int, { minItems: 1, maxItems: 16 }), seed: Int, inputShape: Type.Optional(Type.Array(Int, { minItems: 1, maxItems: 4 })) }),
  obj({ arch: Type.Literal('cnn'), seed: Int, inputShape: Type.Array(Int, { minItems: 3, maxItems: 3 }), classes: Int })
])

/** How deltas are combined (the core's `AggregationSpec`). */
export const AggregationSchema = Type.Union([
  obj({ kind: Type.Literal('fedavg') }),
  obj({ kind: Type.Literal('median') }),
  obj({ kind: Type.Literal('trimmed-mean'), beta: Num }),
  obj({ kind: Type.Literal('krum'), f: Int, m: Type.Optional(Int) })
])

/** How deltas are compressed in Helia (the core's `CompressionSpec`). */
export const CompressionSchema = Type.Union([
  obj({ kind: Type.Literal('fp32') }),
  obj({ kind: Type.Literal('fp16') }),
  obj({ kind: Type.Literal('int8'), blockSize: Type.Optional(Int) }),
  obj({ kind: Type.Literal('topk'), fraction: Num })
])

/**
 * Round timing every node applies identically: the adaptive deadline (median + deadlineK * MAD of arrivals, clamped
 * to [minWaitMs, capMs] after the round start), the seal timeout per aggregator attempt, and the round timeout after
 * which a round still short of participants re-announces.
 */
export const JobTimingSchema = obj({ roundTimeoutMs: Int, deadlineK: Num, minWaitMs: Int, capMs: Int, sealTimeoutMs: Int })

/** A training job. `id` = hex SHA-256 of the canonical CBOR of every other field (see `jobIdOf`). */
export const JobSpecSchema = obj({
  id: Hex64,
  creator: PeerIdStr,
  model: ModelSpecSchema,
  dataset: Str(1, 128),
  rounds: Int,
  minParticipants: Int,
  localEpochs: Int,
  batchSize: Int,
  learningRate: Num,
  aggregation: AggregationSchema,
  compression: CompressionSchema,
  target: Type.Optional(obj({ metric: Type.Literal('accuracy'), value: Num })),
  initialModelCid: CidStr,
  manifestHash: Type.Optional(Hex64),
  createdAt: Int,
  timing: JobTimingSchema
})
export type JobSpec = Static<typeof JobSpecSchema>
export type JobTiming = Static<typeof JobTimingSchema>

/** A job announcement, signed by the job's creator. */
export const JobAnnounceSchema = obj({ type: Type.Literal('job'), job: JobSpecSchema })
/** The signer takes part in a job with `samples` local training rows; re-sent as a heartbeat each round. */
export const JoinSchema = obj({ type: Type.Literal('join'), jobId: Hex64, samples: Int })
/** The signer stops taking part in a job. */
export const LeaveSchema = obj({ type: Type.Literal('leave'), jobId: Hex64 })
/** The signer's delta for `round`, trained on `baseModelCid`, is stored in Helia under `cid`. */
export const DeltaAnnounceSchema = obj({
  type: Type.Literal('delta'),
  jobId: Hex64,
  round: Int,
  baseModelCid: CidStr,
  cid: CidStr,
  samples: Int,
  bytes: Int,
  metrics: MetricsSchema
})
/** One entry of a seal: a delta the aggregate was computed from. */
export const SealedDeltaSchema = obj({ cid: CidStr, peerId: PeerIdStr, samples: Int })
/**
 * The aggregator's seal of a round: the deltas (sorted by cid) the aggregate M_{round+1} = aggregateCid was computed
 * from, its modelHash, and the median of the listed deltas' metrics.
 */
export const RoundSealSchema = obj({
  type: Type.Literal('seal'),
  jobId: Hex64,
  round: Int,
  attempt: Int,
  baseModelCid: CidStr,
  deltas: Type.Array(SealedDeltaSchema, { minItems: 1, maxItems: 256 }),
  aggregateCid: CidStr,
  modelHash: Hex64,
  metrics: MetricsSchema
})
/** A participant's verdict on a seal after recomputing it. */
export const SealVoteSchema = obj({
  type: Type.Literal('vote'),
  jobId: Hex64,
  round: Int,
  attempt: Int,
  aggregateCid: CidStr,
  approve: Type.Boolean(),
  reason: Type.Optional(Str(0, 256))
})

/**
 * Sent by a participant when it moves to attempt >= 1 of a round (Paxos' phase 1 over gossip): from now on it approves
 * no seal of an earlier attempt, and `locked` reports the highest-attempt aggregate it approved in this round, if any.
 * The attempt's aggregator waits for promises from a strict majority of participants and must re-propose the
 * highest-attempt locked aggregate among them; only with none may it propose a fresh one.
 */
export const RoundPromiseSchema = obj({
  type: Type.Literal('promise'),
  jobId: Hex64,
  round: Int,
  attempt: Int,
  locked: Type.Optional(obj({ attempt: Int, aggregateCid: CidStr }))
})

export type JobAnnounce = Static<typeof JobAnnounceSchema>
export type JoinMessage = Static<typeof JoinSchema>
export type LeaveMessage = Static<typeof LeaveSchema>
export type DeltaAnnounce = Static<typeof DeltaAnnounceSchema>
export type SealedDelta = Static<typeof SealedDeltaSchema>
export type RoundSeal = Static<typeof RoundSealSchema>
export type SealVote = Static<typeof SealVoteSchema>
export type RoundPromise = Static<typeof RoundPromiseSchema>

/** Every message on TOPICS.training. */
export type TrainingMessage = JobAnnounce | JoinMessage | LeaveMessage | DeltaAnnounce | RoundSeal | SealVote | RoundPromise
export type TrainingMessageType = TrainingMessage['type']

/** The schema of each message type, for per-type compilation (precise error paths, unknown types told apart). */
export const TRAINING_MESSAGE_SCHEMAS = {
  job: JobAnnounceSchema,
  join: JoinSchema,
  leave: LeaveSchema,
  delta: DeltaAnnounceSchema,
  seal: RoundSealSchema,
  vote: SealVoteSchema,
  promise: RoundPromiseSchema
} as const satisfies Record<TrainingMessageType, TSchema>
