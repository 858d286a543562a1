/**
 * The job contract, one TypeBox schema per record: the model a job trains, how its deltas are aggregated and
 * compressed, its round timing and target, and the announced job spec that carries them. Every bound a node enforces
 * on a job is in these schemas; the rules that tie two fields together are in job-check.ts. The gossip validator,
 * the service, the admin API (and so its OpenAPI document) and the CLI's flags all read them from here.
 */
import { Type, type Static, type TObject, type TProperties, type TSchema } from '@sinclair/typebox'
import { TRIM_BETA_LIMIT } from '../core/coordinate.js'
import { MAX_INT8_BLOCK, MODEL_LIMITS as M, REQUEST_LIMITS as R, TRAINING_LIMITS as L } from './limits.js'

const strict = { additionalProperties: false } as const
/** A closed object: a field nobody knows is refused, never dropped. */
export const closed = <T extends TProperties>(props: T, options: { description?: string } = {}): TObject<T> =>
  Type.Object(props, { ...strict, ...options })

/** Lowercase hex SHA-256: job ids and model hashes. */
export const HASH_PATTERN = '^[0-9a-f]{64}$'
/**
 * A CID as training records carry it: CIDv1 in base32 (multibase prefix `b`), the only form `toString()` of a CIDv1
 * gives. The pattern is the shape; job-check.ts also parses it and requires the canonical form.
 */
export const CID_PATTERN = '^b[a-z2-7]+$'

/** A job id. */
export const JobIdSchema = Type.String({ pattern: HASH_PATTERN, description: 'job id: hex SHA-256 of the job spec' })
/** A model hash (see `modelHash`). */
export const ModelHashSchema = Type.String({ pattern: HASH_PATTERN, description: 'hex SHA-256 of the model weights' })
/** A CID of a model or delta stored in Helia. */
export const CidSchema = Type.String({ minLength: 2, maxLength: 128, pattern: CID_PATTERN, description: 'CIDv1, base32' })
/** A libp2p peer id (its string form; records name peers, the signature proves only the signer's). */
export const PeerIdSchema = Type.String({ minLength: 1, maxLength: 128, description: 'a libp2p peer id' })

// ---- model ------------------------------------------------------------------------------------------------------

const sizes = (maxUnits: number): ReturnType<typeof Type.Integer> =>
  Type.Integer({ minimum: 1, maximum: maxUnits, description: `layer sizes are integers in [1, ${maxUnits}]` })
const layers = (maxUnits: number): ReturnType<typeof Type.Array<ReturnType<typeof sizes>>> =>
  Type.Array(sizes(maxUnits), { minItems: 1, maxItems: M.maxLayers, description: 'hidden layer sizes, then the output size (the number of classes): a non-empty list' })
const dims = (max: number): ReturnType<typeof Type.Integer> => Type.Integer({ minimum: 1, maximum: max, description: `dimensions are integers in [1, ${max}]` })
const imageShape = (max: number): ReturnType<typeof Type.Array<ReturnType<typeof dims>>> =>
  Type.Array(dims(max), { minItems: 3, maxItems: 3, description: '[height, width, channels]' })
const classes = (max: number): ReturnType<typeof Type.Integer> => Type.Integer({ minimum: 2, maximum: max, description: `classes: an integer in [2, ${max}]` })
const WireSeed = Type.Integer({ minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER, description: 'seed of the initial weights: a safe integer' })

/** A multi-layer perceptron as announced: its input size is pinned by `inputShape` once the creator resolved it. */
export const MlpSpecSchema = closed({
  arch: Type.Literal('mlp'),
  layers: layers(M.maxUnits),
  seed: WireSeed,
  inputShape: Type.Optional(Type.Array(dims(M.maxInputDim), { minItems: 1, maxItems: 4, description: 'input tensor shape' }))
}, { description: 'a multi-layer perceptron' })
/** The FedAvg paper's two-convolution CNN. */
export const CnnSpecSchema = closed({
  arch: Type.Literal('cnn'),
  seed: WireSeed,
  inputShape: imageShape(M.maxInputDim),
  classes: classes(M.maxUnits)
}, { description: 'the FedAvg paper\'s two-convolution CNN' })
/** The network every node builds from a job (see src/training/model/spec.ts for what each field means). */
export const ModelSpecSchema = Type.Union([MlpSpecSchema, CnnSpecSchema])
/** A network description; `seed` fixes the initial weights bit for bit on every node. */
export type ModelSpec = Static<typeof ModelSpecSchema>

const RequestSeed = Type.Integer({ minimum: 0, maximum: R.maxSeed, description: 'seed of the initial weights, unsigned 32-bit' })
/** The model of a create request: an MLP takes its input size from the dataset, and the API caps sizes lower. */
export const RequestModelSchema = Type.Union([
  closed({ arch: Type.Literal('mlp'), layers: layers(R.maxUnits), seed: RequestSeed }, { description: 'a multi-layer perceptron; its input size comes from the dataset' }),
  closed({ arch: Type.Literal('cnn'), seed: RequestSeed, inputShape: imageShape(R.maxUnits), classes: classes(R.maxUnits) }, { description: 'the FedAvg paper\'s two-convolution CNN' })
])

// ---- aggregation and compression ----------------------------------------------------------------------------------

/** trimmed-mean: the fraction trimmed at each end. */
export const BetaSchema = Type.Number({ minimum: 0, exclusiveMaximum: TRIM_BETA_LIMIT, description: 'fraction trimmed at each end' })
/** krum: Byzantine deltas tolerated (job-check.ts ties it to minParticipants). */
export const KrumFSchema = Type.Integer({ minimum: 0, maximum: L.maxParticipants, description: 'Byzantine deltas tolerated (each one raises the minParticipants krum needs)' })
/** krum: deltas averaged after selection (at most minParticipants). */
export const KrumMSchema = Type.Integer({ minimum: 1, maximum: L.maxParticipants, description: 'deltas averaged (at most minParticipants)' })

/**
 * How deltas are combined: fedavg (sample-weighted mean), coordinate-wise median or trimmed mean, or Multi-Krum.
 * The one list of aggregation kinds and their parameters.
 */
export const AggregationSpecSchema = Type.Union([
  closed({ kind: Type.Literal('fedavg') }),
  closed({ kind: Type.Literal('median') }),
  closed({ kind: Type.Literal('trimmed-mean'), beta: BetaSchema }),
  closed({ kind: Type.Literal('krum'), f: KrumFSchema, m: Type.Optional(KrumMSchema) })
])
/** An aggregation rule with its parameters. */
export type AggregationSpec = Static<typeof AggregationSpecSchema>
/** The name of an aggregation rule. */
export type AggregationKind = AggregationSpec['kind']

/** topk: the fraction of coordinates kept. */
export const TopkFractionSchema = Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'fraction of coordinates kept' })
/** int8: values per float32 scale. */
export const Int8BlockSchema = Type.Integer({ minimum: 1, maximum: MAX_INT8_BLOCK, description: 'values per scale' })

/** How deltas are compressed in Helia: the one list of compression kinds and their parameters. */
export const CompressionSpecSchema = Type.Union([
  closed({ kind: Type.Literal('fp32') }),
  closed({ kind: Type.Literal('fp16') }),
  closed({ kind: Type.Literal('int8'), blockSize: Type.Optional(Int8BlockSchema) }),
  closed({ kind: Type.Literal('topk'), fraction: TopkFractionSchema })
])
/** A compression with its parameters. */
export type CompressionSpec = Static<typeof CompressionSpecSchema>
/** The name of a compression. */
export type CompressionKind = CompressionSpec['kind']

/** The discriminants of a union of closed objects, in declaration order. */
function kindsOf<K extends string> (union: { anyOf: ReadonlyArray<{ properties: { kind: { const: K } } }> }): readonly K[] {
  return union.anyOf.map(v => v.properties.kind.const)
}

/** Every aggregation kind, in the order the CLI and the API list them. */
export const AGGREGATION_KINDS = kindsOf<AggregationKind>(AggregationSpecSchema)
/** Every compression kind. */
export const COMPRESSION_KINDS = kindsOf<CompressionKind>(CompressionSpecSchema)

/** The parameter names of each kind of a union (`krum` -> `['f', 'm']`), for rules and flags. */
export function paramsOf (union: { anyOf: ReadonlyArray<{ properties: Record<string, TSchema> }> }): Record<string, string[]> {
  return Object.fromEntries(union.anyOf.map(v => [
    (v.properties.kind as TSchema & { const: string }).const,
    Object.keys(v.properties).filter(k => k !== 'kind')
  ]))
}

// ---- timing, target, job ---------------------------------------------------------------------------------------

const ms = (min: number, description: string): ReturnType<typeof Type.Integer> => Type.Integer({ minimum: min, maximum: L.maxTimingMs, description })

/**
 * Round timing every node applies identically: the adaptive deadline (median + deadlineK * MAD of arrivals, clamped
 * to [minWaitMs, capMs] after the round start), the seal timeout per aggregator attempt, and the round timeout after
 * which a round still short of participants re-announces.
 */
export const JobTimingSchema = closed({
  roundTimeoutMs: ms(1, 're-announce a round still short of participants after this long'),
  deadlineK: Type.Number({ minimum: 0, maximum: L.maxDeadlineK, description: 'adaptive deadline: median + k * MAD of arrivals' }),
  minWaitMs: ms(0, 'the deadline is at least this long after the round start'),
  capMs: ms(1, 'and at most this long (>= minWaitMs)'),
  sealTimeoutMs: ms(1, 'per aggregator attempt')
})
/** A job's round timing. */
export type JobTiming = Static<typeof JobTimingSchema>

/** Finish early once a round's accuracy reaches `value`. */
export const TargetSchema = closed({
  metric: Type.Literal('accuracy'),
  value: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'the job finishes early once a round reaches it' })
})

/** Rounds a job trains. */
export const RoundsSchema = Type.Integer({ minimum: 1, maximum: L.maxRounds })
/** Deltas a round waits for before it is sealed. */
export const MinParticipantsSchema = Type.Integer({ minimum: 1, maximum: L.maxParticipants, description: 'deltas a round waits for before it is sealed' })
/** Local epochs per round. */
export const LocalEpochsSchema = Type.Integer({ minimum: 1, maximum: L.maxLocalEpochs })
/** Local SGD learning rate. */
export const LearningRateSchema = Type.Number({ exclusiveMinimum: 0, maximum: L.maxLearningRate })

/** Local minibatch size. */
export const BatchSizeSchema = Type.Integer({ minimum: 1, maximum: L.maxBatchSize })

const RANGE = 'inclusive bounds a hyperparams proposal must stay within'
/**
 * Bounds a job declares for its hyperparameters; a name left out takes `defaultHyperparamBounds`
 * (src/training/protocol/hyperparams.ts). A `hyperparams` proposal outside them is voted down and never applied.
 */
export const HyperparamBoundsSchema = closed({
  learningRate: Type.Optional(closed({ min: LearningRateSchema, max: LearningRateSchema }, { description: `learningRate: ${RANGE}` })),
  localEpochs: Type.Optional(closed({ min: LocalEpochsSchema, max: LocalEpochsSchema }, { description: `localEpochs: ${RANGE}` })),
  batchSize: Type.Optional(closed({ min: BatchSizeSchema, max: BatchSizeSchema }, { description: `batchSize: ${RANGE}` }))
}, { description: 'bounds hyperparams proposals must respect (defaults: 1/10x to 10x the learning rate, 1 to 4x the local epochs, 1/8x to 8x the batch size)' })
/** A job's declared hyperparameter bounds. */
export type HyperparamBounds = Static<typeof HyperparamBoundsSchema>

/** A chain address (EIP-55 or lowercase hex). */
export const ChainAddressSchema = Type.String({ pattern: '^0x[0-9a-fA-F]{40}$', description: 'a chain address' })
/** An amount in wei (a decimal integer string; JSON numbers lose precision). */
export const WeiSchema = Type.String({ pattern: '^(0|[1-9][0-9]{0,39})$', description: 'an amount in wei (decimal integer string)' })

/**
 * A rewarded job: `totalWei` FTNS (in wei) locked in the CreditVault by `payer` (the creator's chain wallet) when the
 * job was created, paid to contributors by cumulative vouchers after each accepted round, pro rata to their samples in
 * the seal (src/training/core/payouts.ts). Jobs without it are unchanged (their id does not move).
 */
export const RewardSpecSchema = closed({
  totalWei: { ...WeiSchema, pattern: '^[1-9][0-9]{0,39}$', description: 'the job\'s total reward in FTNS wei' },
  payer: { ...ChainAddressSchema, description: 'the creator\'s chain wallet, which signs the vouchers' }
}, { description: 'the job pays its contributors in FTNS' })
/** A job's reward. */
export type RewardSpec = Static<typeof RewardSpecSchema>

/**
 * Who accepts a job's round seals: `consensus`, a QC of a `model-update` proposal (the accepted work enters the epoch
 * chain and earns reputation); `majority`, a strict majority of the round's electorate on the training topic.
 */
export const SealVotingSchema = Type.Union([Type.Literal('majority'), Type.Literal('consensus')], { description: 'who accepts round seals: a QC through consensus, or a strict majority of training votes' })
/** A seal voting mode. */
export type SealVotingMode = Static<typeof SealVotingSchema>

/** A training job as announced. `id` = hex SHA-256 of the canonical CBOR of every other field (see `jobIdOf`). */
export const JobSpecSchema = closed({
  id: JobIdSchema,
  creator: PeerIdSchema,
  model: ModelSpecSchema,
  dataset: Type.String({ minLength: 1, maxLength: 128 }),
  rounds: RoundsSchema,
  minParticipants: MinParticipantsSchema,
  localEpochs: LocalEpochsSchema,
  batchSize: BatchSizeSchema,
  learningRate: LearningRateSchema,
  aggregation: AggregationSpecSchema,
  compression: CompressionSpecSchema,
  target: Type.Optional(TargetSchema),
  initialModelCid: CidSchema,
  /**
   * Set when the job continues from a trained model (`init.model` at creation): `initialModelCid` is then that model,
   * checked by joiners for its size and this hash, instead of the weights the spec's seed builds. Nodes that predate
   * it do not accept such a job (their schema is closed); jobs without it are unchanged.
   */
  warmStart: Type.Optional(closed({ modelHash: ModelHashSchema }, { description: 'the job starts from a trained model' })),
  /** Bounds of `hyperparams` proposals (absent: the defaults). Optional for the same reason as `warmStart`. */
  hyperparamBounds: Type.Optional(HyperparamBoundsSchema),
  reward: Type.Optional(RewardSpecSchema),
  /**
   * How its seals are accepted, fixed by the creator so that every node of the job agrees (a node's own
   * `training.sealVoting` applies only to jobs without it: those announced before it existed, whose id it keeps).
   */
  sealVoting: Type.Optional(SealVotingSchema),
  manifestHash: Type.Optional(ModelHashSchema),
  createdAt: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'ms since the epoch' }),
  timing: JobTimingSchema
}, { description: 'The job as announced (signed by its creator)' })
/** A training job. */
export type JobSpec = Static<typeof JobSpecSchema>

/**
 * The parameters a job takes when its creator leaves them out: one place, read by the service (which fills them in),
 * the API's and CLI's descriptions, and the request checks.
 */
export const JOB_DEFAULTS = {
  aggregation: { beta: 0.1, f: 1 },
  compression: { fraction: 0.1 },
  timing: { roundTimeoutMs: 20_000, deadlineK: 3, minWaitMs: 1000, capMs: 30_000, sealTimeoutMs: 15_000 }
} as const satisfies { timing: JobTiming, aggregation: Record<string, number>, compression: Record<string, number> }
