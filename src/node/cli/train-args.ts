/**
 * Flag parsing for `meshnode train`: turns commander's strings into API requests with errors that name the flag
 * (`ERR_ARGUMENT`), before anything is sent. Pure.
 */
import { extname } from 'node:path'
import { MeshError } from '../../common/errors.js'
import { MAX_INT8_BLOCK } from '../../training/core/codec.js'
import { MODEL_LIMITS } from '../../training/model/spec.js'
import { TRAINING_LIMITS as L } from '../../training/protocol/messages.js'
import { MAX_SEED, type CreateJobRequest, type JoinJobRequest } from '../../training/service/api-types.js'

const argError = (message: string): MeshError => new MeshError('ERR_ARGUMENT', message)

/** Defaults of `train create` (also shown by `--help`). FedAvg-paper style local training: E=5, B=10. */
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
  aggregation: 'fedavg',
  compression: 'fp32'
} as const

export const AGGREGATIONS = ['fedavg', 'median', 'trimmed-mean', 'krum'] as const
export const COMPRESSIONS = ['fp32', 'fp16', 'int8', 'topk'] as const
export const PARTITIONS = ['iid', 'shards', 'dirichlet'] as const
/** Extensions `train plot -o` refuses: no SVG rasteriser is installed. */
const RASTER_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.gif', '.webp', '.bmp', '.tif', '.tiff', '.pdf'])

/** An integer flag in [min, max]. */
function intFlag (flag: string, v: string, min: number, max: number): number {
  const n = /^-?\d+$/.test(v.trim()) ? Number(v) : NaN
  if (!Number.isSafeInteger(n) || n < min || n > max) throw argError(`${flag} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`)
  return n
}

/** A finite number flag; `gt` is an exclusive lower bound, `min`/`max` inclusive bounds, `lt` an exclusive upper one. */
function numFlag (flag: string, v: string, b: { gt?: number, min?: number, max?: number, lt?: number }): number {
  const n = v.trim() === '' ? NaN : Number(v)
  const ok = Number.isFinite(n) && (b.gt === undefined || n > b.gt) && (b.min === undefined || n >= b.min) &&
    (b.max === undefined || n <= b.max) && (b.lt === undefined || n < b.lt)
  if (!ok) {
    const lo = b.gt !== undefined ? `> ${b.gt}` : b.min !== undefined ? `>= ${b.min}` : ''
    const hi = b.lt !== undefined ? `< ${b.lt}` : b.max !== undefined ? `<= ${b.max}` : ''
    throw argError(`${flag} must be a number${lo === '' ? '' : ' ' + lo}${lo !== '' && hi !== '' ? ' and' : ''}${hi === '' ? '' : ' ' + hi}, got ${JSON.stringify(v)}`)
  }
  return n
}

/** One of `choices`. */
function choiceFlag<T extends string> (flag: string, v: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(v)) throw argError(`${flag} must be one of ${choices.join(', ')}, got ${JSON.stringify(v)}`)
  return v as T
}

/** A comma-separated list of integers, e.g. `64,10`. */
function intListFlag (flag: string, v: string, min: number, max: number): number[] {
  const parts = v.split(',').map(s => s.trim())
  if (parts.length === 0 || parts.some(p => p === '')) throw argError(`${flag} must be a comma-separated list of integers, got ${JSON.stringify(v)}`)
  return parts.map(p => intFlag(flag, p, min, max))
}

/** Accuracy as `0.95` or `95%`. */
function fractionFlag (flag: string, v: string): number {
  const pct = v.trim().endsWith('%')
  const n = numFlag(flag, pct ? v.trim().slice(0, -1) : v, pct ? { gt: 0, max: 100 } : { gt: 0, max: 1 })
  return pct ? n / 100 : n
}

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
  roundTimeoutMs?: string
  deadlineK?: string
  minWaitMs?: string
  capMs?: string
  sealTimeoutMs?: string
}

/** Build the body of `POST /v1/training/jobs`; defaults from CREATE_DEFAULTS; every flag checked. */
export function buildCreateRequest (flags: CreateFlags): CreateJobRequest {
  const f = { ...CREATE_DEFAULTS, ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) } as Record<keyof typeof CREATE_DEFAULTS, string> & CreateFlags
  if (f.dataset == null || f.dataset === '') throw argError('--dataset is required (digits, mnist, or a dataset from `meshnode train dataset import`)')
  const arch = choiceFlag('--arch', f.arch, ['mlp', 'cnn'] as const)
  const seed = intFlag('--seed', f.seed, 0, MAX_SEED)
  let model: CreateJobRequest['model']
  if (arch === 'mlp') {
    if (flags.inputShape !== undefined) throw argError('--input-shape applies to --arch cnn only (an MLP takes its input size from the dataset)')
    const layers = intListFlag('--layers', f.layers, 1, 4096)
    if (layers.length > MODEL_LIMITS.maxLayers) throw argError(`--layers takes at most ${MODEL_LIMITS.maxLayers} sizes`)
    model = { arch: 'mlp', layers, seed }
  } else {
    if (flags.layers !== undefined) throw argError('--layers applies to --arch mlp only')
    if (f.inputShape === undefined) throw argError('--arch cnn needs --input-shape H,W,C (e.g. 28,28,1)')
    const inputShape = intListFlag('--input-shape', f.inputShape, 1, 4096)
    if (inputShape.length !== 3) throw argError('--input-shape must be H,W,C')
    model = { arch: 'cnn', seed, inputShape, classes: intFlag('--classes', f.classes, 2, 4096) }
  }
  const minParticipants = intFlag('--min-participants', f.minParticipants, 1, L.maxParticipants)
  const aggregation = choiceFlag('--aggregation', f.aggregation, AGGREGATIONS)
  const compression = choiceFlag('--compression', f.compression, COMPRESSIONS)
  const req: CreateJobRequest = {
    model,
    dataset: f.dataset,
    rounds: intFlag('--rounds', f.rounds, 1, L.maxRounds),
    minParticipants,
    localEpochs: intFlag('--epochs', f.epochs, 1, L.maxLocalEpochs),
    batchSize: intFlag('--batch-size', f.batchSize, 1, 100_000),
    learningRate: numFlag('--lr', f.lr, { gt: 0, max: L.maxLearningRate }),
    aggregation,
    compression
  }

  if (f.beta !== undefined && aggregation !== 'trimmed-mean') throw argError('--beta applies to --aggregation trimmed-mean only')
  if ((f.f !== undefined || f.m !== undefined) && aggregation !== 'krum') throw argError('--f and --m apply to --aggregation krum only')
  if (aggregation === 'trimmed-mean' && f.beta !== undefined) req.aggregationParams = { beta: numFlag('--beta', f.beta, { min: 0, lt: 0.5 }) }
  if (aggregation === 'krum') {
    const byz = f.f === undefined ? 1 : intFlag('--f', f.f, 0, L.maxParticipants - 3)
    if (minParticipants < byz + 3) throw argError(`--aggregation krum with --f ${byz} needs --min-participants >= ${byz + 3}`)
    const params: NonNullable<CreateJobRequest['aggregationParams']> = {}
    if (f.f !== undefined) params.f = byz
    if (f.m !== undefined) params.m = intFlag('--m', f.m, 1, minParticipants)
    if (Object.keys(params).length > 0) req.aggregationParams = params
  }

  if (f.fraction !== undefined && compression !== 'topk') throw argError('--fraction applies to --compression topk only')
  if (f.blockSize !== undefined && compression !== 'int8') throw argError('--block-size applies to --compression int8 only')
  if (f.fraction !== undefined) req.compressionParams = { fraction: numFlag('--fraction', f.fraction, { gt: 0, max: 1 }) }
  if (f.blockSize !== undefined) req.compressionParams = { blockSize: intFlag('--block-size', f.blockSize, 1, MAX_INT8_BLOCK) }

  if (f.target !== undefined) req.target = { metric: 'accuracy', value: fractionFlag('--target', f.target) }

  const timing: NonNullable<CreateJobRequest['timing']> = {}
  if (f.roundTimeoutMs !== undefined) timing.roundTimeoutMs = intFlag('--round-timeout-ms', f.roundTimeoutMs, 1, L.maxTimingMs)
  if (f.sealTimeoutMs !== undefined) timing.sealTimeoutMs = intFlag('--seal-timeout-ms', f.sealTimeoutMs, 1, L.maxTimingMs)
  if (f.minWaitMs !== undefined) timing.minWaitMs = intFlag('--min-wait-ms', f.minWaitMs, 0, L.maxTimingMs)
  if (f.capMs !== undefined) timing.capMs = intFlag('--cap-ms', f.capMs, 1, L.maxTimingMs)
  if (f.deadlineK !== undefined) timing.deadlineK = numFlag('--deadline-k', f.deadlineK, { min: 0, max: L.maxDeadlineK })
  if (timing.capMs !== undefined && timing.minWaitMs !== undefined && timing.capMs < timing.minWaitMs) throw argError('--cap-ms must be >= --min-wait-ms')
  if (Object.keys(timing).length > 0) req.timing = timing
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
  if (flags.dataset == null || flags.dataset === '') throw argError('--dataset is required (digits, mnist, or a dataset from `meshnode train dataset import`)')
  const req: JoinJobRequest = { dataset: flags.dataset }
  const wantsShare = flags.partition !== undefined || flags.index !== undefined || flags.of !== undefined || flags.alpha !== undefined
  if (wantsShare) {
    const scheme = choiceFlag('--partition', flags.partition ?? 'iid', PARTITIONS)
    if (flags.index === undefined || flags.of === undefined) throw argError('--index and --of are both required to train on a share of the dataset')
    const of = intFlag('--of', flags.of, 1, 10_000)
    const index = intFlag('--index', flags.index, 0, 9_999)
    if (index >= of) throw argError(`--index must be < --of (${of}), got ${index}`)
    if (flags.alpha !== undefined && scheme !== 'dirichlet') throw argError('--alpha applies to --partition dirichlet only')
    req.partition = { scheme, index, of, seed: flags.seed === undefined ? 1 : intFlag('--seed', flags.seed, 0, MAX_SEED) }
    if (flags.alpha !== undefined) req.partition.alpha = numFlag('--alpha', flags.alpha, { gt: 0, max: 1000 })
  } else if (flags.seed !== undefined) {
    throw argError('--seed picks the partition: give it with --partition, --index and --of')
  }
  if (flags.testFraction !== undefined) req.testFraction = numFlag('--test-fraction', flags.testFraction, { gt: 0, lt: 1 })
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
  if (hits.length === 0) throw new MeshError('ERR_NOT_FOUND', `no training job ${p} is known to this node (see \`meshnode train status\`)`)
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

/** `first`, `last`, or a 0-based column index; returned as the query string value. */
export function labelColumnFlag (v: string): string {
  if (v === 'first' || v === 'last') return v
  return String(intFlag('--label-column', v, 0, 99_999))
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
