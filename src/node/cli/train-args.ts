/**
 * Flag parsing for `meshnode train`: turns commander's strings into API requests, read against the training
 * protocol's request schemas and checked with its rules (`createRequestIssue`, `joinRequestIssue`), so every error
 * names the flag (`ERR_ARGUMENT`) before anything is sent. Pure.
 */
import { extname } from 'node:path'
import { Type } from '@sinclair/typebox'
import {
  AGGREGATION_KINDS, COMPRESSION_KINDS, CreateJobRequestSchema, JOIN_DEFAULTS, JobTimingSchema, JoinJobRequestSchema, PartitionSchema, SealVotingSchema,
  RequestModelSchema, TargetSchema, TrainingError, createRequestIssue, joinRequestIssue,
  type CreateJobRequest, type JoinJobRequest
} from '../../training/index.js'
import { argError, choiceFlag, defined, intFlag, intListFlag, literalsOf, numFlag, optional } from './train-flags.js'

/**
 * Defaults of `train create` (also shown by `--help`). FedAvg-paper style local training: E=5, B=10; the first (plain)
 * aggregation and compression of the protocol's lists.
 */
export const CREATE_DEFAULTS = {
  arch: 'mlp',
  layers: '64,10',
  classes: '10',
  seed: '1',
  rounds: '20',
  minParticipants: '2',
  epochs: '5',
  batchSize: '10',
  lr: '0.1',
  aggregation: AGGREGATION_KINDS[0],
  compression: COMPRESSION_KINDS[0]
} as const

export { AGGREGATION_KINDS as AGGREGATIONS, COMPRESSION_KINDS as COMPRESSIONS }
/** The partition schemes `train join --partition` takes. */
export const PARTITIONS = literalsOf(PartitionSchema.properties.scheme)
export const SEAL_VOTING_MODES = literalsOf(SealVotingSchema)
/** The model architectures `train create --arch` takes. */
export const ARCHS = RequestModelSchema.anyOf.map(v => v.properties.arch.const)

/** The flag of each request field (by its path in the job spec's terms), for flag-named errors. */
const FLAGS: Readonly<Record<string, string>> = {
  minParticipants: '--min-participants',
  aggregation: '--aggregation',
  'aggregation.beta': '--beta',
  'aggregation.f': '--f',
  'aggregation.m': '--m',
  compression: '--compression',
  'compression.fraction': '--fraction',
  'compression.blockSize': '--block-size',
  'timing.roundTimeoutMs': '--round-timeout-ms',
  'timing.sealTimeoutMs': '--seal-timeout-ms',
  'timing.minWaitMs': '--min-wait-ms',
  'timing.capMs': '--cap-ms',
  'timing.deadlineK': '--deadline-k',
  'partition.scheme': '--partition',
  'partition.index': '--index',
  'partition.of': '--of',
  'partition.alpha': '--alpha',
  testFraction: '--test-fraction'
}
const flagOf = (path: string): string => FLAGS[path] ?? path

/** Extensions `train plot -o` refuses: no SVG rasteriser is installed. */
const RASTER_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.gif', '.webp', '.bmp', '.tif', '.tiff', '.pdf'])
const DATASET_HINT = '--dataset is required (digits, mnist, or a dataset from `meshnode train dataset import`)'

/** `train create` flags as commander hands them over (strings; absent when not given and without a default). */
export interface CreateFlags {
  dataset?: string
  arch?: string
  layers?: string
  inputShape?: string
  classes?: string
  seed?: string
  rounds?: string
  minParticipants?: string
  epochs?: string
  batchSize?: string
  lr?: string
  aggregation?: string
  beta?: string
  f?: string
  m?: string
  compression?: string
  fraction?: string
  blockSize?: string
  target?: string
  /** Warm start: the CID of a trained model to continue from. */
  initModel?: string
  /** FTNS (decimal string) to lock and pay contributors by vouchers; the node checks the amount. */
  reward?: string
  sealVoting?: string
  roundTimeoutMs?: string
  deadlineK?: string
  minWaitMs?: string
  capMs?: string
  sealTimeoutMs?: string
}

/** Create flags with CREATE_DEFAULTS filled in. */
type CreateFlagsWithDefaults = CreateFlags & Record<keyof typeof CREATE_DEFAULTS, string>

/** The model flags: `--arch`, then the architecture's own flags. */
function modelOf (f: CreateFlagsWithDefaults, given: CreateFlags): CreateJobRequest['model'] {
  const [mlp, cnn] = RequestModelSchema.anyOf
  const arch = choiceFlag('--arch', f.arch, ARCHS)
  const seed = intFlag('--seed', f.seed, mlp.properties.seed)
  if (arch === mlp.properties.arch.const) {
    if (given.inputShape !== undefined) throw argError('--input-shape applies to --arch cnn only (an MLP takes its input size from the dataset)')
    const layers = mlp.properties.layers
    return { arch, layers: intListFlag('--layers', f.layers, layers, `takes at most ${layers.maxItems ?? 0} sizes`), seed }
  }
  if (given.layers !== undefined) throw argError('--layers applies to --arch mlp only')
  if (f.inputShape === undefined) throw argError('--arch cnn needs --input-shape H,W,C (e.g. 28,28,1)')
  const inputShape = intListFlag('--input-shape', f.inputShape, cnn.properties.inputShape, 'must be H,W,C')
  return { arch: cnn.properties.arch.const, seed, inputShape, classes: intFlag('--classes', f.classes, cnn.properties.classes) }
}

/** Build the body of `POST /v1/training/jobs`; defaults from CREATE_DEFAULTS; every flag checked. */
export function buildCreateRequest (flags: CreateFlags): CreateJobRequest {
  const f: CreateFlagsWithDefaults = { ...CREATE_DEFAULTS, ...defined(flags) }
  if (f.dataset === undefined || f.dataset === '') throw argError(DATASET_HINT)
  const P = CreateJobRequestSchema.properties
  const req: CreateJobRequest = {
    model: modelOf(f, flags),
    dataset: f.dataset,
    rounds: intFlag('--rounds', f.rounds, P.rounds),
    minParticipants: intFlag(flagOf('minParticipants'), f.minParticipants, P.minParticipants),
    localEpochs: intFlag('--epochs', f.epochs, P.localEpochs),
    batchSize: intFlag('--batch-size', f.batchSize, P.batchSize),
    learningRate: numFlag('--lr', f.lr, P.learningRate),
    aggregation: choiceFlag(flagOf('aggregation'), f.aggregation, AGGREGATION_KINDS),
    compression: choiceFlag(flagOf('compression'), f.compression, COMPRESSION_KINDS)
  }
  const A = P.aggregationParams.properties
  const aggregationParams = defined({
    beta: optional(f.beta, v => numFlag(flagOf('aggregation.beta'), v, A.beta)),
    f: optional(f.f, v => intFlag(flagOf('aggregation.f'), v, A.f)),
    m: optional(f.m, v => intFlag(flagOf('aggregation.m'), v, A.m))
  })
  if (Object.keys(aggregationParams).length > 0) req.aggregationParams = aggregationParams
  const C = P.compressionParams.properties
  const compressionParams = defined({
    fraction: optional(f.fraction, v => numFlag(flagOf('compression.fraction'), v, C.fraction)),
    blockSize: optional(f.blockSize, v => intFlag(flagOf('compression.blockSize'), v, C.blockSize))
  })
  if (Object.keys(compressionParams).length > 0) req.compressionParams = compressionParams
  // accuracy as `0.95` or `95%`
  if (f.target !== undefined) {
    const pct = f.target.trim().endsWith('%')
    req.target = { metric: 'accuracy', value: numFlag('--target', pct ? f.target.trim().slice(0, -1) : f.target, TargetSchema.properties.value, pct ? 100 : 1) }
  }
  if (f.initModel !== undefined) req.init = { model: f.initModel.trim() }
  if (f.reward !== undefined) req.reward = { total: f.reward.trim() }
  if (f.sealVoting !== undefined) req.sealVoting = choiceFlag('--seal-voting', f.sealVoting, SEAL_VOTING_MODES)
  const T = JobTimingSchema.properties
  const ms = (path: keyof typeof T, v: string | undefined): number | undefined => optional(v, s => intFlag(flagOf(`timing.${path}`), s, T[path]))
  const timing = defined({
    roundTimeoutMs: ms('roundTimeoutMs', f.roundTimeoutMs),
    sealTimeoutMs: ms('sealTimeoutMs', f.sealTimeoutMs),
    minWaitMs: ms('minWaitMs', f.minWaitMs),
    capMs: ms('capMs', f.capMs),
    deadlineK: optional(f.deadlineK, v => numFlag(flagOf('timing.deadlineK'), v, T.deadlineK))
  })
  if (Object.keys(timing).length > 0) req.timing = timing
  const issue = createRequestIssue(req, flagOf)
  if (issue !== undefined) throw argError(issue.message)
  return req
}

/** `train join` flags. */
export interface JoinFlags {
  dataset?: string
  partition?: string
  index?: string
  of?: string
  seed?: string
  alpha?: string
  testFraction?: string
}

/**
 * Build the body of `POST /v1/training/jobs/{id}/join`. Any partition flag asks for a share: the scheme defaults to
 * iid and the seed to 1; --index and --of are then required, with index < of.
 */
export function buildJoinRequest (flags: JoinFlags): JoinJobRequest {
  if (flags.dataset == null || flags.dataset === '') throw argError(DATASET_HINT)
  const req: JoinJobRequest = { dataset: flags.dataset }
  const wantsShare = flags.partition !== undefined || flags.index !== undefined || flags.of !== undefined || flags.alpha !== undefined
  if (wantsShare) {
    const P = PartitionSchema.properties
    const scheme = choiceFlag(flagOf('partition.scheme'), flags.partition ?? PARTITIONS[0], PARTITIONS)
    if (flags.index === undefined || flags.of === undefined) throw argError('--index and --of are both required to train on a share of the dataset')
    const of = intFlag(flagOf('partition.of'), flags.of, P.of)
    const index = intFlag(flagOf('partition.index'), flags.index, P.index)
    const seed = flags.seed === undefined ? JOIN_DEFAULTS.partitionSeed : intFlag('--seed', flags.seed, P.seed)
    req.partition = { scheme, index, of, seed, ...defined({ alpha: optional(flags.alpha, v => numFlag(flagOf('partition.alpha'), v, P.alpha)) }) }
  } else if (flags.seed !== undefined) {
    throw argError('--seed picks the partition: give it with --partition, --index and --of')
  }
  if (flags.testFraction !== undefined) req.testFraction = numFlag(flagOf('testFraction'), flags.testFraction, JoinJobRequestSchema.properties.testFraction)
  const issue = joinRequestIssue(req, flagOf)
  if (issue !== undefined) throw argError(issue.message)
  return req
}

/**
 * A full job id, or the one job whose id starts with `prefix` (status tables show 12 digits). Throws ERR_ARGUMENT for
 * a malformed or ambiguous prefix and ERR_NOT_FOUND when nothing matches.
 */
export function matchJobId (prefix: string, ids: readonly string[]): string {
  const p = prefix.trim().toLowerCase()
  if (!/^[0-9a-f]{1,64}$/.test(p)) throw argError(`not a job id: ${JSON.stringify(prefix)} (expected hex digits)`)
  const hits = ids.filter(id => id.startsWith(p))
  if (hits.length === 1) return hits[0]
  if (hits.length === 0) throw new TrainingError('ERR_NOT_FOUND', `no training job ${p} is known to this node (see \`meshnode train status\`)`)
  throw argError(`job id prefix ${p} is ambiguous: ${hits.map(h => h.slice(0, 16)).join(', ')}`)
}

/** The format of a dataset file: the flag, else `.jsonl`/`.ndjson` means jsonl, anything else csv. */
export function datasetFormatOf (file: string, format?: string): 'csv' | 'jsonl' {
  if (format !== undefined) return choiceFlag('--format', format, ['csv', 'jsonl'] as const)
  const ext = extname(file).toLowerCase()
  return ext === '.jsonl' || ext === '.ndjson' ? 'jsonl' : 'csv'
}

/** The content type a dataset format is uploaded with. */
export const DATASET_CONTENT_TYPES = { csv: 'text/csv', jsonl: 'application/x-ndjson' } as const

const LabelColumnIndex = Type.Integer({ minimum: 0, maximum: 99_999 })

/** `first`, `last`, or a 0-based column index; returned as the query string value. */
export function labelColumnFlag (v: string): string {
  if (v === 'first' || v === 'last') return v
  return String(intFlag('--label-column', v, LabelColumnIndex))
}

/** `train plot -o`: an `.svg` path, or `-` for stdout. Raster formats are refused: nothing installed can render them. */
export function checkPlotOutput (path: string): void {
  if (path === '-') return
  const ext = extname(path).toLowerCase()
  if (RASTER_EXTENSIONS.has(ext)) {
    throw argError(`cannot write ${ext.slice(1).toUpperCase()}: only SVG output is supported (no SVG rasteriser is installed). ` +
      `Write ${path.slice(0, -ext.length)}.svg and convert it, e.g. \`rsvg-convert -o ${path} ${path.slice(0, -ext.length)}.svg\``)
  }
  if (ext !== '.svg') throw argError(`--output must name an .svg file (or - for stdout), got ${JSON.stringify(path)}`)
}
