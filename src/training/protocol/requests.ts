/**
 * The requests the training service takes, one schema each: create a job (`POST /v1/training/jobs`, `meshnode train
 * create`) and join one (`POST /v1/training/jobs/{id}/join`, `meshnode train join`). They reuse the job contract's
 * field schemas (job-schema.ts), so a request the API accepts is one the mesh accepts; the cross-field rules are in
 * job-check.ts.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { DEFAULT_INT8_BLOCK } from '../core/codec.js'
import { DEFAULT_DIRICHLET_ALPHA, PARTITION_SCHEMES } from '../core/partition.js'
import {
  AGGREGATION_KINDS, AggregationSpecSchema, BetaSchema, COMPRESSION_KINDS, CompressionSpecSchema, Int8BlockSchema,
  HyperparamBoundsSchema, JOB_DEFAULTS, JobTimingSchema, KrumFSchema, KrumMSchema, LearningRateSchema, LocalEpochsSchema, MinParticipantsSchema,
  RequestModelSchema, RoundsSchema, SealVotingSchema, TargetSchema, TopkFractionSchema, CidSchema, closed, paramsOf
} from './job-schema.js'
import { REQUEST_LIMITS as R } from './limits.js'

/** Allowed dataset names: lowercase, starting with a letter or digit, at most 64 characters. */
export const DATASET_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/
/** A dataset name (built-in or imported). */
export const DatasetNameSchema = Type.String({ pattern: DATASET_NAME.source, description: '`digits`, `mnist`, or an imported dataset' })

/** The same schema with a description naming the kind it belongs to and its default. */
function param<S extends TSchema> (union: Parameters<typeof paramsOf>[0], name: string, schema: S, dflt?: number): S {
  const kind = Object.entries(paramsOf(union)).find(([, ps]) => ps.includes(name))?.[0] ?? ''
  return { ...schema, description: `${kind}: ${schema.description ?? name}${dflt === undefined ? '' : ` (default ${dflt})`}` }
}

const A = JOB_DEFAULTS.aggregation
const C = JOB_DEFAULTS.compression

/** Body of `POST /v1/training/jobs`: the job to announce; parameters and timing left out take `JOB_DEFAULTS`. */
export const CreateJobRequestSchema = closed({
  model: RequestModelSchema,
  dataset: DatasetNameSchema,
  rounds: RoundsSchema,
  minParticipants: MinParticipantsSchema,
  localEpochs: LocalEpochsSchema,
  batchSize: Type.Integer({ minimum: 1, maximum: R.maxBatchSize }),
  learningRate: LearningRateSchema,
  aggregation: Type.Union(AGGREGATION_KINDS.map(k => Type.Literal(k)), { description: 'how deltas are combined' }),
  aggregationParams: Type.Optional(closed({
    beta: Type.Optional(param(AggregationSpecSchema, 'beta', BetaSchema, A.beta)),
    f: Type.Optional(param(AggregationSpecSchema, 'f', KrumFSchema, A.f)),
    m: Type.Optional(param(AggregationSpecSchema, 'm', KrumMSchema))
  }, { description: 'the parameters of the chosen aggregation' })),
  compression: Type.Union(COMPRESSION_KINDS.map(k => Type.Literal(k)), { description: 'how deltas are compressed' }),
  compressionParams: Type.Optional(closed({
    fraction: Type.Optional(param(CompressionSpecSchema, 'fraction', TopkFractionSchema, C.fraction)),
    blockSize: Type.Optional(param(CompressionSpecSchema, 'blockSize', Int8BlockSchema, DEFAULT_INT8_BLOCK))
  }, { description: 'the parameters of the chosen compression' })),
  target: Type.Optional(TargetSchema),
  init: Type.Optional(closed({
    model: { ...CidSchema, description: 'the CID of a model artifact of this architecture (an exported job\'s `modelCid`)' }
  }, { description: 'warm start: continue from a trained model instead of the seed\'s initial weights' })),
  hyperparamBounds: Type.Optional(HyperparamBoundsSchema),
  reward: Type.Optional(closed({
    total: Type.String({ minLength: 1, maxLength: 64, description: 'FTNS, a decimal string like "100" or "12.5" (at most 18 decimals); locked in the vault from this node\'s free balance' })
  }, { description: 'pay contributors: the total is locked now and paid by vouchers after each accepted round, pro rata to their samples' })),
  sealVoting: Type.Optional({ ...SealVotingSchema, description: 'who accepts round seals (default: this node\'s training.sealVoting, consensus unless configured)' }),
  timing: Type.Optional(Type.Partial(JobTimingSchema, { additionalProperties: false, description: 'round timing overrides (ms); the defaults suit a LAN mesh' }))
}, { description: 'A training job to announce' })
/** A create request. */
export type CreateJobRequest = Static<typeof CreateJobRequestSchema>

/** Train on one share of the dataset (simulations). */
export const PartitionSchema = closed({
  scheme: Type.Union(PARTITION_SCHEMES.map(s => Type.Literal(s))),
  index: Type.Integer({ minimum: 0, maximum: R.maxShares - 1, description: 'this node\'s share, < of' }),
  of: Type.Integer({ minimum: 1, maximum: R.maxShares }),
  seed: Type.Integer({ minimum: 0, maximum: R.maxSeed }),
  alpha: Type.Optional(Type.Number({
    exclusiveMinimum: 0,
    maximum: R.maxDirichletAlpha,
    description: `dirichlet: concentration (default ${DEFAULT_DIRICHLET_ALPHA}; smaller = more label skew)`
  }))
}, { description: 'train on one share of the dataset (simulations)' })

/** What a join takes when left out. */
export const JOIN_DEFAULTS = { testFraction: 0.2, partitionSeed: 1 } as const

/** Body of `POST /v1/training/jobs/{id}/join`. */
export const JoinJobRequestSchema = closed({
  dataset: DatasetNameSchema,
  partition: Type.Optional(PartitionSchema),
  testFraction: Type.Optional(Type.Number({
    exclusiveMinimum: 0,
    exclusiveMaximum: 1,
    description: `held out for evaluation (default ${JOIN_DEFAULTS.testFraction})`
  }))
}, { description: 'Take part in a job' })
/** A join request. */
export type JoinJobRequest = Static<typeof JoinJobRequestSchema>
