/**
 * `/v1/training/*`: create, join, leave and inspect federated training jobs, plot their progress, and import datasets
 * (CSV or JSON lines as a text body, up to 64 MiB). Requests are validated here with the bounds every node enforces
 * on a job (`TRAINING_LIMITS`), so a bad request is a 400 naming the field, not a job the mesh would reject.
 */
import { Type, type Static, type TInteger, type TNull, type TNumber, type TUnion } from '@sinclair/typebox'
import { ApiError } from '../errors.js'
import { MAX_INT8_BLOCK } from '../../../training/core/codec.js'
import { DATASET_NAME } from '../../../training/data/store.js'
import { MODEL_LIMITS } from '../../../training/model/spec.js'
import { TRAINING_LIMITS as L } from '../../../training/protocol/messages.js'
import { MAX_DATASET_UPLOAD_BYTES, MAX_SEED, type CreateJobRequest, type DatasetInfo, type JobView, type JoinJobRequest, type RoundReport, type TrainingApi } from '../../../training/service/api-types.js'
import { renderSvgChart } from '../../plot.js'
import type { ApiPlugin } from '../server.js'
import { ErrorBody, errorResponses } from '../schemas.js'


const strict = { additionalProperties: false } as const
const Seed = Type.Integer({ minimum: 0, maximum: MAX_SEED })
const DatasetName = Type.String({ pattern: DATASET_NAME.source, description: '`digits`, `mnist`, or an imported dataset' })
const JobId = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'job id: hex SHA-256 of the job spec' })
const TimingMs = (min: number, description: string): TInteger => Type.Integer({ minimum: min, maximum: L.maxTimingMs, description })

const MlpModel = Type.Object({
  arch: Type.Literal('mlp'),
  layers: Type.Array(Type.Integer({ minimum: 1, maximum: 4096 }), { minItems: 1, maxItems: MODEL_LIMITS.maxLayers, description: 'hidden layer sizes, then the output size (the number of classes)' }),
  seed: Seed
}, { ...strict, description: 'a multi-layer perceptron; its input size comes from the dataset' })
const CnnModel = Type.Object({
  arch: Type.Literal('cnn'),
  seed: Seed,
  inputShape: Type.Array(Type.Integer({ minimum: 1, maximum: 4096 }), { minItems: 3, maxItems: 3, description: '[height, width, channels]' }),
  classes: Type.Integer({ minimum: 2, maximum: 4096 })
}, { ...strict, description: 'the FedAvg paper\'s two-convolution CNN' })

const CreateJobBody = Type.Object({
  model: Type.Union([MlpModel, CnnModel]),
  dataset: DatasetName,
  rounds: Type.Integer({ minimum: 1, maximum: L.maxRounds }),
  minParticipants: Type.Integer({ minimum: 1, maximum: L.maxParticipants, description: 'deltas a round waits for before it is sealed' }),
  localEpochs: Type.Integer({ minimum: 1, maximum: L.maxLocalEpochs }),
  batchSize: Type.Integer({ minimum: 1, maximum: 100_000 }),
  learningRate: Type.Number({ minimum: 0, maximum: L.maxLearningRate, description: '> 0' }),
  aggregation: Type.Union([Type.Literal('fedavg'), Type.Literal('median'), Type.Literal('trimmed-mean'), Type.Literal('krum')]),
  aggregationParams: Type.Optional(Type.Object({
    beta: Type.Optional(Type.Number({ minimum: 0, maximum: 0.5, description: 'trimmed-mean: fraction trimmed at each end, < 0.5 (default 0.1)' })),
    f: Type.Optional(Type.Integer({ minimum: 0, maximum: L.maxParticipants - 3, description: 'krum: Byzantine peers tolerated (default 1; needs minParticipants >= f + 3)' })),
    m: Type.Optional(Type.Integer({ minimum: 1, maximum: L.maxParticipants, description: 'krum: deltas averaged (default 1; at most minParticipants)' }))
  }, strict)),
  compression: Type.Union([Type.Literal('fp32'), Type.Literal('fp16'), Type.Literal('int8'), Type.Literal('topk')]),
  compressionParams: Type.Optional(Type.Object({
    fraction: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'topk: fraction of coordinates kept, > 0 (default 0.1)' })),
    blockSize: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_INT8_BLOCK, description: 'int8: values per scale (default 256)' }))
  }, strict)),
  target: Type.Optional(Type.Object({
    metric: Type.Literal('accuracy'),
    value: Type.Number({ minimum: 0, maximum: 1, description: '> 0; the job finishes early once a round reaches it' })
  }, strict)),
  timing: Type.Optional(Type.Object({
    roundTimeoutMs: Type.Optional(TimingMs(1, 're-announce a round still short of participants after this long')),
    deadlineK: Type.Optional(Type.Number({ minimum: 0, maximum: L.maxDeadlineK, description: 'adaptive deadline: median + k * MAD of arrivals' })),
    minWaitMs: Type.Optional(TimingMs(0, 'the deadline is at least this long after the round start')),
    capMs: Type.Optional(TimingMs(1, 'and at most this long (>= minWaitMs)')),
    sealTimeoutMs: Type.Optional(TimingMs(1, 'per aggregator attempt'))
  }, strict))
}, { ...strict, description: 'A training job to announce' })

const Partition = Type.Object({
  scheme: Type.Union([Type.Literal('iid'), Type.Literal('shards'), Type.Literal('dirichlet')]),
  index: Type.Integer({ minimum: 0, maximum: 9_999, description: 'this node\'s share, < of' }),
  of: Type.Integer({ minimum: 1, maximum: 10_000 }),
  seed: Seed,
  alpha: Type.Optional(Type.Number({ minimum: 0, maximum: 1000, description: 'dirichlet: concentration, > 0 (default 0.5; smaller = more label skew)' }))
}, { ...strict, description: 'train on one share of the dataset (simulations)' })

const JoinJobBody = Type.Object({
  dataset: DatasetName,
  partition: Type.Optional(Partition),
  testFraction: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'held out for evaluation, strictly between 0 and 1 (default 0.2)' }))
}, { ...strict, description: 'Take part in a job' })

/** A metric that is null when it was not finite (a diverged round): JSON has no NaN. */
const Metric = (description: string): TUnion<[TNumber, TNull]> => Type.Union([Type.Number(), Type.Null()], { description })

const RoundReportView = Type.Object({
  round: Type.Integer({ minimum: 0 }),
  accuracy: Metric('on this node\'s held-out split, 0..1'),
  loss: Metric('mean cross-entropy on the held-out split'),
  f1: Metric('macro F1'),
  precision: Metric('macro precision'),
  recall: Metric('macro recall'),
  participants: Type.Integer({ minimum: 0, description: 'deltas in the seal' }),
  bytesSent: Type.Number({ minimum: 0 }),
  bytesReceived: Type.Number({ minimum: 0 }),
  durationMs: Type.Number({ minimum: 0 }),
  modelCid: Type.String({ description: 'the accepted aggregate' }),
  modelHash: Type.String()
}, { description: 'One sealed and accepted round as this node measured it' })

const Loose = { additionalProperties: true } as const
/**
 * The announced job spec (`JobSpecSchema` in src/training/protocol/messages.ts). The main fields are listed; nested
 * objects are open so the view never drops a field the protocol adds.
 */
const JobSpecView = Type.Object({
  id: Type.String(),
  creator: Type.String({ description: 'peer id of the announcing node' }),
  model: Type.Object({
    arch: Type.String({ description: 'mlp | cnn' }),
    seed: Type.Number(),
    layers: Type.Optional(Type.Array(Type.Number())),
    inputShape: Type.Optional(Type.Array(Type.Number())),
    classes: Type.Optional(Type.Number())
  }, Loose),
  dataset: Type.String(),
  rounds: Type.Number(),
  minParticipants: Type.Number(),
  localEpochs: Type.Number(),
  batchSize: Type.Number(),
  learningRate: Type.Number(),
  aggregation: Type.Object({ kind: Type.String({ description: 'fedavg | median | trimmed-mean | krum' }), beta: Type.Optional(Type.Number()), f: Type.Optional(Type.Number()), m: Type.Optional(Type.Number()) }, Loose),
  compression: Type.Object({ kind: Type.String({ description: 'fp32 | fp16 | int8 | topk' }), fraction: Type.Optional(Type.Number()), blockSize: Type.Optional(Type.Number()) }, Loose),
  target: Type.Optional(Type.Object({ metric: Type.String(), value: Type.Number() }, Loose)),
  initialModelCid: Type.String(),
  manifestHash: Type.Optional(Type.String()),
  createdAt: Type.Number({ description: 'ms since the epoch' }),
  timing: Type.Object({ roundTimeoutMs: Type.Number(), deadlineK: Type.Number(), minWaitMs: Type.Number(), capMs: Type.Number(), sealTimeoutMs: Type.Number() }, Loose)
}, { ...Loose, description: 'The job as announced (signed by its creator)' })

export const JobViewSchema = Type.Object({
  id: Type.String(),
  status: Type.Union([Type.Literal('announced'), Type.Literal('joined'), Type.Literal('running'), Type.Literal('finished'), Type.Literal('left')]),
  round: Type.Integer({ minimum: 0, description: 'the round being trained now (= accepted rounds)' }),
  modelCid: Type.String({ description: 'the current global model' }),
  modelHash: Type.Union([Type.String(), Type.Null()]),
  phase: Type.Union([Type.Literal('waiting'), Type.Literal('collecting'), Type.Literal('sealing'), Type.Literal('finished')]),
  participants: Type.Array(Type.String(), { description: 'peer ids taking part' }),
  attempt: Type.Integer({ minimum: 0, description: 'the sealing attempt of the current round (0 unless an aggregator failed)' }),
  aggregator: Type.Union([Type.String(), Type.Null()], { description: 'who seals the current attempt in this node\'s view' }),
  joined: Type.Boolean({ description: 'this node takes part' }),
  finishedReason: Type.Union([Type.Literal('rounds'), Type.Literal('target'), Type.Null()]),
  spec: JobSpecView,
  rounds: Type.Array(RoundReportView)
}, { description: 'A training job as this node sees it' })

export const DatasetInfoView = Type.Object({
  name: Type.String(),
  rows: Type.Integer({ minimum: 0 }),
  features: Type.Integer({ minimum: 0 }),
  classes: Type.Integer({ minimum: 0 }),
  builtin: Type.Boolean()
}, { description: 'A dataset this node can train on' })

const JobParams = Type.Object({ id: JobId })
const DatasetParams = Type.Object({ name: DatasetName })
const PlotQuery = Type.Object({
  format: Type.Optional(Type.Literal('svg', { description: 'only SVG is rendered' })),
  width: Type.Optional(Type.Integer({ minimum: 200, maximum: 4000 })),
  height: Type.Optional(Type.Integer({ minimum: 150, maximum: 3000 }))
}, strict)
const ImportQuery = Type.Object({
  format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('jsonl')], { description: 'default: from the content type (application/x-ndjson: jsonl, else csv)' })),
  labelColumn: Type.Optional(Type.String({ pattern: '^(first|last|[0-9]{1,5})$', description: 'csv: first, last (default) or a 0-based column index' })),
  header: Type.Optional(Type.Boolean({ description: 'csv: the first line names the columns (default: detected)' }))
}, strict)

// compile-time: the schemas accept exactly what the service takes, and can render everything it returns
const _createFits = (b: Static<typeof CreateJobBody>): CreateJobRequest => b
const _joinFits = (b: Static<typeof JoinJobBody>): JoinJobRequest => b
const _viewFits = (v: JobView): Static<typeof JobViewSchema> => v
const _datasetFits = (d: DatasetInfo): Static<typeof DatasetInfoView> => d
void [_createFits, _joinFits, _viewFits, _datasetFits]

const finite = (v: number | null): number | null => typeof v === 'number' && Number.isFinite(v) ? v : null

/** The response body: non-finite metrics become null (the serializer would refuse NaN). */
function viewOf (job: JobView): Static<typeof JobViewSchema> {
  return {
    ...job,
    rounds: job.rounds.map((r: RoundReport) => ({ ...r, accuracy: finite(r.accuracy), loss: finite(r.loss), f1: finite(r.f1), precision: finite(r.precision), recall: finite(r.recall) }))
  }
}

function notFound (id: string): ApiError {
  return new ApiError('ERR_NOT_FOUND', `no training job ${id} is known here`)
}

const bad = (msg: string): never => { throw new ApiError('ERR_VALIDATION', msg) }

/**
 * Rules the schema cannot express: exclusive bounds (OpenAPI 3.0 spells `exclusiveMinimum` as a boolean, ajv as a
 * number, so the schemas say `minimum` and these checks make it strict) and cross-field rules the mesh enforces.
 */
function checkCreate (b: CreateJobRequest): void {
  if (!(b.learningRate > 0)) bad('body/learningRate must be > 0')
  if (b.target !== undefined && !(b.target.value > 0)) bad('body/target/value must be > 0')
  if (b.aggregationParams?.beta !== undefined && !(b.aggregationParams.beta < 0.5)) bad('body/aggregationParams/beta must be < 0.5')
  if (b.compressionParams?.fraction !== undefined && !(b.compressionParams.fraction > 0)) bad('body/compressionParams/fraction must be > 0')
  const a = b.aggregationParams
  if (a?.beta !== undefined && b.aggregation !== 'trimmed-mean') bad('aggregationParams.beta applies to trimmed-mean only')
  if ((a?.f !== undefined || a?.m !== undefined) && b.aggregation !== 'krum') bad('aggregationParams.f and .m apply to krum only')
  if (b.aggregation === 'krum') {
    const f = a?.f ?? 1
    if (b.minParticipants < f + 3) bad(`krum with f=${f} needs minParticipants >= ${f + 3}`)
    if (a?.m !== undefined && a.m > b.minParticipants) bad('aggregationParams.m must be <= minParticipants')
  }
  const cp = b.compressionParams
  if (cp?.fraction !== undefined && b.compression !== 'topk') bad('compressionParams.fraction applies to topk only')
  if (cp?.blockSize !== undefined && b.compression !== 'int8') bad('compressionParams.blockSize applies to int8 only')
  const t = b.timing
  if (t?.minWaitMs !== undefined && t.capMs !== undefined && t.capMs < t.minWaitMs) bad('timing.capMs must be >= timing.minWaitMs')
}

/** The join rules the schema cannot express (see checkCreate). */
function checkJoin (b: JoinJobRequest): void {
  const p = b.partition
  if (p != null && p.index >= p.of) bad(`body/partition/index must be < partition.of (${p.of}), got ${p.index}`)
  if (p?.alpha !== undefined && !(p.alpha > 0)) bad('body/partition/alpha must be > 0')
  if (p?.alpha !== undefined && p.scheme !== 'dirichlet') bad('body/partition/alpha applies to the dirichlet scheme only')
  if (b.testFraction !== undefined && !(b.testFraction > 0 && b.testFraction < 1)) bad('body/testFraction must be > 0 and < 1')
}

function parseLabelColumn (v: string | undefined): 'first' | 'last' | number | undefined {
  if (v === undefined || v === 'first' || v === 'last') return v
  return Number(v)
}

/** The fastify plugin for training routes. */
export function trainingRoutes (deps: { training: TrainingApi }): ApiPlugin {
  const { training } = deps
  const jobOr404 = (id: string): JobView => {
    const job = training.getJob(id)
    if (job == null) throw notFound(id)
    return job
  }

  return (app) => {
    // scoped to this plugin (the server accepts JSON only): dataset uploads arrive as text
    app.addContentTypeParser(['text/csv', 'application/x-ndjson', 'text/plain'], { parseAs: 'string', bodyLimit: MAX_DATASET_UPLOAD_BYTES }, (_req, body, done) => { done(null, body) })

    app.post('/v1/training/jobs', {
      schema: {
        tags: ['training'],
        summary: 'Create and announce a training job',
        body: CreateJobBody,
        response: { 201: Type.Object({ id: Type.String({ description: 'the job id' }) }), ...errorResponses }
      }
    }, async (req, reply) => {
      const body = req.body as CreateJobRequest
      checkCreate(body)
      const { id } = await training.createJob(body)
      return await reply.status(201).send({ id })
    })

    app.get('/v1/training/jobs', {
      schema: { tags: ['training'], summary: 'Training jobs known to this node', response: { 200: Type.Object({ jobs: Type.Array(JobViewSchema) }), ...errorResponses } }
    }, async () => ({ jobs: (training.listJobs()).map(viewOf) }))

    app.get('/v1/training/jobs/:id', {
      schema: { tags: ['training'], summary: 'One job: status, phase, participants and per-round metrics', params: JobParams, response: { 200: JobViewSchema, ...errorResponses } }
    }, async (req) => {
      const { id } = req.params as Static<typeof JobParams>
      return viewOf(jobOr404(id))
    })

    app.post('/v1/training/jobs/:id/join', {
      schema: { tags: ['training'], summary: 'Take part in a job with a local dataset (or one share of it)', params: JobParams, body: JoinJobBody, response: { 200: JobViewSchema, ...errorResponses } }
    }, async (req) => {
      const { id } = req.params as Static<typeof JobParams>
      const body = req.body as JoinJobRequest
      checkJoin(body)
      return viewOf(await training.joinJob(id, body))
    })

    app.post('/v1/training/jobs/:id/leave', {
      schema: { tags: ['training'], summary: 'Stop taking part in a job', params: JobParams, response: { 200: JobViewSchema, ...errorResponses } }
    }, async (req) => {
      const { id } = req.params as Static<typeof JobParams>
      return viewOf(await training.leaveJob(id))
    })

    app.get('/v1/training/jobs/:id/plot', {
      schema: {
        tags: ['training'],
        summary: 'Accuracy (left axis) and loss (right axis) per accepted round, as an SVG chart',
        params: JobParams,
        querystring: PlotQuery,
        response: { 200: { description: 'an SVG document', content: { 'image/svg+xml': { schema: { type: 'string' } } } }, ...errorResponses } as any
      }
    }, async (req, reply) => {
      const { id } = req.params as Static<typeof JobParams>
      const q = req.query as Static<typeof PlotQuery>
      const job = jobOr404(id)
      const svg = renderSvgChart(job.rounds, {
        title: `job ${id.slice(0, 12)} · ${job.spec.dataset} · ${job.spec.aggregation.kind}`,
        width: q.width,
        height: q.height,
        target: job.spec.target?.value
      })
      return await reply.type('image/svg+xml; charset=utf-8').send(svg)
    })

    app.post('/v1/training/datasets/:name', {
      bodyLimit: MAX_DATASET_UPLOAD_BYTES,
      schema: {
        tags: ['training'],
        summary: 'Import a dataset from CSV or JSON lines sent as the text body (at most 64 MiB)',
        params: DatasetParams,
        querystring: ImportQuery,
        body: {
          content: {
            'text/csv': { schema: { type: 'string', description: 'one row per line: features and an integer class label' } },
            'application/x-ndjson': { schema: { type: 'string', description: 'one JSON object per line: `{ "x": number[], "y": integer }`' } },
            'text/plain': { schema: { type: 'string' } }
          }
        },
        response: { 200: DatasetInfoView, 413: ErrorBody, 415: ErrorBody, ...errorResponses }
      } as any
    }, async (req) => {
      const { name } = req.params as Static<typeof DatasetParams>
      const q = req.query as Static<typeof ImportQuery>
      if (typeof req.body !== 'string') {
        throw new ApiError('ERR_UNSUPPORTED_MEDIA_TYPE', 'send the dataset as the text body with Content-Type text/csv or application/x-ndjson')
      }
      if (req.body.trim() === '') throw new ApiError('ERR_DATASET_EMPTY', 'the dataset body is empty')
      const contentType = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
      const format = q.format ?? (contentType === 'application/x-ndjson' ? 'jsonl' : 'csv')
      const text = req.body
      return await training.importDataset(name, text, format, { labelColumn: parseLabelColumn(q.labelColumn), header: q.header })
    })

    app.get('/v1/training/datasets', {
      schema: { tags: ['training'], summary: 'Datasets this node can train on (built-in and imported)', response: { 200: Type.Object({ datasets: Type.Array(DatasetInfoView) }), ...errorResponses } }
    }, async () => ({ datasets: await training.listDatasets() }))
  }
}
