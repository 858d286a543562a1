/**
 * The `/v1/training/*` routes through the real server (auth, validation, error rendering, OpenAPI) against an
 * in-memory TrainingApi: request validation bounds, error mapping, SVG plot, dataset upload as text.
 */
import { describe, it, expect, beforeAll, afterAll, beforeEach } from 'vitest'
import { createHash } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import SwaggerParser from '@apidevtools/swagger-parser'
import { Value } from '@sinclair/typebox/value'
import { Type } from '@sinclair/typebox'
import { XMLValidator } from 'fast-xml-parser'
import { buildApiApp } from '../../../src/node/api/server.js'
import { trainingRoutes, JobViewSchema, DatasetInfoView } from '../../../src/node/api/routes/training.js'
import { MAX_DATASET_UPLOAD_BYTES } from '../../../src/training/service/api-types.js'
import { silentLogger } from '../../../src/common/logger.js'
import { GossipValidationError, MeshError } from '../../../src/common/errors.js'
import { TrainingError } from '../../../src/training/errors.js'
import type { CreateJobRequest, DatasetInfo, JobView, JoinJobRequest, RoundReport, TrainingApi } from '../../../src/training/service/api-types.js'
import { FakeTrainingJobs } from './fake-training.js'

const TOKEN = 'test-token-0123456789abcdef'
const AUTH = { authorization: `Bearer ${TOKEN}` }
const UNKNOWN_ID = 'f'.repeat(64)

function report (round: number, over: Partial<RoundReport> = {}): RoundReport {
  return {
    round, accuracy: 0.5 + round / 100, loss: 1 / (round + 1), f1: 0.4, precision: 0.45, recall: 0.42, participants: 3,
    bytesSent: 1000 * (round + 1), bytesReceived: 3000, durationMs: 1200, modelCid: `bafy${round}`, modelHash: 'ab'.repeat(32),
    attempt: 0, aggregator: '12D3KooWagg', contributors: ['12D3KooWa', '12D3KooWb'],
    pooled: { accuracy: 0.6, loss: 0.4, samples: 240, nodes: 2, of: 2 },
    evaluations: [{ peerId: '12D3KooWa', accuracy: 0.55, loss: 0.4, samples: 120 }, { peerId: '12D3KooWb', accuracy: 0.65, loss: 0.4, samples: 120 }],
    payouts: [{ peerId: '12D3KooWa', wei: '1500000000000000000', amount: '1.5' }, { peerId: '12D3KooWb', wei: '1500000000000000000', amount: '1.5' }], ...over
  }
}

type ImportCall = { name: string, text: string, format: 'csv' | 'jsonl', opts?: { labelColumn?: 'first' | 'last' | number, header?: boolean, labels?: string[], standardize?: boolean } }

/** A small in-memory training service: enough behaviour for the routes to be exercised for real. */
class MemoryTraining extends FakeTrainingJobs implements TrainingApi {
  protected readonly creator = '12D3KooWcreator'
  datasets: DatasetInfo[] = [{ name: 'digits', rows: 1797, features: 64, classes: 10, builtin: true }]
  created: CreateJobRequest[] = []
  joins: Array<{ id: string, req: JoinJobRequest }> = []
  imports: ImportCall[] = []
  /** When set, the next service call throws it. */
  failWith: unknown = undefined

  private maybeFail (): void {
    if (this.failWith !== undefined) { const e = this.failWith; this.failWith = undefined; throw e }
  }

  createJob = async (req: CreateJobRequest): Promise<{ id: string }> => {
    this.maybeFail()
    this.created.push(req)
    const id = createHash('sha256').update(JSON.stringify(req) + String(this.created.length)).digest('hex')
    const model = req.model.arch === 'mlp' ? { arch: 'mlp' as const, layers: req.model.layers, seed: req.model.seed } : { ...req.model, inputShape: req.model.inputShape }
    this.jobs.set(id, {
      id, status: 'announced', round: 0, modelCid: 'bafyinitial', modelHash: null, phase: 'waiting', participants: [], attempt: 0, aggregator: null, joined: false, finishedReason: null,
      spec: {
        id, creator: '12D3KooWcreator', model, dataset: req.dataset, rounds: req.rounds, minParticipants: req.minParticipants, localEpochs: req.localEpochs,
        batchSize: req.batchSize, learningRate: req.learningRate, aggregation: { kind: 'fedavg' }, compression: { kind: 'fp32' },
        ...(req.target != null ? { target: req.target } : {}), initialModelCid: 'bafyinitial', createdAt: 1_700_000_000_000,
        timing: { roundTimeoutMs: 60_000, deadlineK: 3, minWaitMs: 1000, capMs: 30_000, sealTimeoutMs: 10_000 }
      },
      rounds: []
    } as JobView)
    return { id }
  }

  joinJob = async (id: string, req: JoinJobRequest): Promise<JobView> => {
    this.maybeFail()
    const job = this.jobs.get(id)
    if (job == null) throw new TrainingError('ERR_NOT_FOUND', `no job ${id}`)
    if (!this.datasets.some(d => d.name === req.dataset)) throw new TrainingError('ERR_DATASET_NOT_FOUND', `no dataset named ${req.dataset}`)
    this.joins.push({ id, req })
    Object.assign(job, { joined: true, status: 'joined', participants: [...job.participants, '12D3KooWself'] })
    return job
  }

  leaveJob = async (id: string): Promise<JobView> => {
    this.maybeFail()
    const job = this.jobs.get(id)
    if (job == null) throw new TrainingError('ERR_NOT_FOUND', `no job ${id}`)
    Object.assign(job, { joined: false, status: 'left', participants: job.participants.filter(p => p !== '12D3KooWself') })
    return job
  }

  listJobs = (): JobView[] => { this.maybeFail(); return [...this.jobs.values()] }
  getJob = (id: string): JobView | undefined => { this.maybeFail(); return this.jobs.get(id) }

  importDataset = async (name: string, text: string, format: 'csv' | 'jsonl', opts?: ImportCall['opts']): Promise<DatasetInfo> => {
    this.maybeFail()
    this.imports.push({ name, text, format, opts })
    const lines = text.split('\n').filter(l => l.trim() !== '')
    let rows: number[][]
    try {
      rows = format === 'jsonl'
        ? lines.map(l => { const o = JSON.parse(l) as { x: number[], y: number }; return [...o.x, o.y] })
        : lines.slice(opts?.header === true ? 1 : 0).map(l => l.split(',').map(Number))
    } catch (err) {
      throw new TrainingError('ERR_DATASET_PARSE', (err as Error).message)
    }
    if (rows.some(r => r.some(v => !Number.isFinite(v)))) throw new TrainingError('ERR_DATASET_PARSE', 'not a number')
    const labelAt = (r: number[]): number => opts?.labelColumn === 'first' ? r[0] : typeof opts?.labelColumn === 'number' ? r[opts.labelColumn] : r[r.length - 1]
    const info = { name, rows: rows.length, features: (rows[0]?.length ?? 1) - 1, classes: new Set(rows.map(labelAt)).size, builtin: false }
    this.datasets = [...this.datasets.filter(d => d.name !== name), info]
    return info
  }

  listDatasets = async (): Promise<DatasetInfo[]> => { this.maybeFail(); return this.datasets }
}

const validCreate = (): CreateJobRequest => ({
  model: { arch: 'mlp', layers: [64, 10], seed: 1 },
  dataset: 'digits',
  rounds: 20,
  minParticipants: 3,
  localEpochs: 5,
  batchSize: 10,
  learningRate: 0.1,
  aggregation: 'fedavg',
  compression: 'fp32'
})

describe('training routes', () => {
  let app: FastifyInstance
  let svc: MemoryTraining

  beforeAll(async () => {
    svc = new MemoryTraining()
    // a 1 MiB server-wide body limit: dataset uploads must get their own 64 MiB limit
    app = await buildApiApp({ host: '127.0.0.1', port: 0, token: TOKEN, allowedHosts: [], bodyLimitBytes: 1024 * 1024, version: 'test', logger: silentLogger }, [trainingRoutes({ training: svc })])
  })
  afterAll(async () => { await app?.close() })
  beforeEach(() => { svc.failWith = undefined })

  const inject = async (method: 'GET' | 'POST' | 'DELETE', url: string, opts: { json?: unknown, body?: string, contentType?: string, auth?: boolean } = {}): Promise<{ status: number, body: any, text: string, type: string }> => {
    const headers: Record<string, string> = { host: '127.0.0.1', ...(opts.auth === false ? {} : AUTH) }
    let payload: string | undefined
    if (opts.json !== undefined) { headers['content-type'] = 'application/json'; payload = JSON.stringify(opts.json) }
    if (opts.body !== undefined) { headers['content-type'] = opts.contentType ?? 'text/csv'; payload = opts.body }
    const res = await app.inject({ method, url, headers, payload })
    let body: any
    try { body = res.json() } catch { body = undefined }
    return { status: res.statusCode, body, text: res.body, type: String(res.headers['content-type'] ?? '') }
  }
  const createJob = async (over: Partial<CreateJobRequest> = {}): Promise<string> => {
    const r = await inject('POST', '/v1/training/jobs', { json: { ...validCreate(), ...over } })
    expect(r.status, r.text).toBe(201)
    return r.body.id
  }

  describe('jobs: happy paths', () => {
    it('creates a job, passing the validated body to the service unchanged', async () => {
      const body: CreateJobRequest = {
        ...validCreate(),
        aggregation: 'krum',
        aggregationParams: { f: 1, m: 2 },
        compression: 'topk',
        compressionParams: { fraction: 0.1 },
        target: { metric: 'accuracy', value: 0.95 },
        timing: { roundTimeoutMs: 60_000, deadlineK: 3, minWaitMs: 500, capMs: 20_000, sealTimeoutMs: 5000 },
        minParticipants: 4
      }
      const before = svc.created.length
      const r = await inject('POST', '/v1/training/jobs', { json: body })
      expect(r.status, r.text).toBe(201)
      expect(r.body.id).toMatch(/^[0-9a-f]{64}$/)
      expect(svc.created.length).toBe(before + 1)
      expect(svc.created.at(-1)).toEqual(body)
      expect(svc.jobs.has(r.body.id)).toBe(true)
    })

    it('accepts a cnn model and every aggregation and compression kind', async () => {
      for (const aggregation of ['fedavg', 'median', 'trimmed-mean', 'krum'] as const) {
        for (const compression of ['fp32', 'fp16', 'int8', 'topk'] as const) {
          await createJob({ model: { arch: 'cnn', seed: 7, inputShape: [8, 8, 1], classes: 10 }, aggregation, compression, minParticipants: 4 })
        }
      }
    })

    it('lists jobs and returns one job in the published schema', async () => {
      const id = await createJob()
      svc.jobs.get(id)!.rounds = [report(0), report(1), report(2)]
      const list = await inject('GET', '/v1/training/jobs')
      expect(list.status).toBe(200)
      expect(Value.Check(Type.Object({ jobs: Type.Array(JobViewSchema) }), list.body), JSON.stringify([...Value.Errors(Type.Object({ jobs: Type.Array(JobViewSchema) }), list.body)].slice(0, 3))).toBe(true)
      expect(list.body.jobs.map((j: JobView) => j.id)).toContain(id)
      const one = await inject('GET', `/v1/training/jobs/${id}`)
      expect(one.status).toBe(200)
      expect(Value.Check(JobViewSchema, one.body)).toBe(true)
      expect(one.body.rounds).toEqual([report(0), report(1), report(2)])
      expect(one.body.spec.timing.capMs).toBe(30_000)
      expect(one.body.spec.model).toEqual({ arch: 'mlp', layers: [64, 10], seed: 1 })
    })

    it('renders non-finite metrics of a diverged round as null instead of failing', async () => {
      const id = await createJob()
      svc.jobs.get(id)!.rounds = [report(0, { loss: NaN, f1: Infinity })]
      const r = await inject('GET', `/v1/training/jobs/${id}`)
      expect(r.status, r.text).toBe(200)
      expect(r.body.rounds[0]).toMatchObject({ loss: null, f1: null, accuracy: 0.5 })
    })

    it('joins with a partition and leaves', async () => {
      const id = await createJob()
      const join: JoinJobRequest = { dataset: 'digits', partition: { scheme: 'dirichlet', index: 2, of: 5, seed: 1, alpha: 0.5 }, testFraction: 0.25 }
      const j = await inject('POST', `/v1/training/jobs/${id}/join`, { json: join })
      expect(j.status, j.text).toBe(200)
      expect(j.body).toMatchObject({ id, joined: true, status: 'joined', participants: ['12D3KooWself'] })
      expect(svc.joins.at(-1)).toEqual({ id, req: join })
      const l = await inject('POST', `/v1/training/jobs/${id}/leave`)
      expect(l.status, l.text).toBe(200)
      expect(l.body).toMatchObject({ id, joined: false, status: 'left', participants: [] })
    })

    it('serves an SVG plot of the job\'s rounds', async () => {
      const id = await createJob({ target: { metric: 'accuracy', value: 0.9 } })
      svc.jobs.get(id)!.rounds = [0, 1, 2, 3, 4].map(i => report(i))
      for (const url of [`/v1/training/jobs/${id}/plot?format=svg`, `/v1/training/jobs/${id}/plot`, `/v1/training/jobs/${id}/plot?width=400&height=200`]) {
        const r = await inject('GET', url)
        expect(r.status, r.text).toBe(200)
        expect(r.type).toMatch(/^image\/svg\+xml/)
        expect(XMLValidator.validate(r.text)).toBe(true)
        expect(r.text.match(/data-round="/g)?.length).toBe(10) // 5 rounds, 2 series
        expect(r.text).toContain('target 90.0%')
      }
      expect((await inject('GET', `/v1/training/jobs/${id}/plot?width=400`)).text).toContain('width="400"')
    })
  })

  describe('jobs: validation', () => {
    const model = (over: Record<string, unknown>): Record<string, unknown> => ({ model: { arch: 'mlp', layers: [64, 10], seed: 1, ...over } })
    const badCreates: Array<[string, Record<string, unknown>]> = [
      ['rounds 0', { rounds: 0 }],
      ['rounds 10001', { rounds: 10_001 }],
      ['rounds fractional', { rounds: 1.5 }],
      ['minParticipants 0', { minParticipants: 0 }],
      ['minParticipants 257', { minParticipants: 257 }],
      ['localEpochs 0', { localEpochs: 0 }],
      ['localEpochs 1001', { localEpochs: 1001 }],
      ['batchSize 0', { batchSize: 0 }],
      ['batchSize 100001', { batchSize: 100_001 }],
      ['learningRate 0', { learningRate: 0 }],
      ['learningRate negative', { learningRate: -0.1 }],
      ['learningRate 10.5', { learningRate: 10.5 }],
      ['no layers', model({ layers: [] })],
      ['17 layers', model({ layers: Array(17).fill(8) })],
      ['layer of 0 units', model({ layers: [0, 10] })],
      ['layer of 4097 units', model({ layers: [4097, 10] })],
      ['negative seed', model({ seed: -1 })],
      ['unknown arch', { model: { arch: 'rnn', seed: 1 } }],
      ['cnn with a 2-d input shape', { model: { arch: 'cnn', seed: 1, inputShape: [8, 8], classes: 10 } }],
      ['cnn with 1 class', { model: { arch: 'cnn', seed: 1, inputShape: [8, 8, 1], classes: 1 } }],
      ['model extra field', model({ dropout: 0.5 })],
      ['unknown aggregation', { aggregation: 'mean' }],
      ['unknown compression', { compression: 'zip' }],
      ['target value 0', { target: { metric: 'accuracy', value: 0 } }],
      ['target value 1.01', { target: { metric: 'accuracy', value: 1.01 } }],
      ['target on loss', { target: { metric: 'loss', value: 0.1 } }],
      ['trimmed-mean beta 0.5', { aggregation: 'trimmed-mean', aggregationParams: { beta: 0.5 } }],
      ['beta for fedavg', { aggregationParams: { beta: 0.1 } }],
      ['krum f=1 with 3 participants', { aggregation: 'krum', aggregationParams: { f: 1 }, minParticipants: 3 }],
      ['krum m > minParticipants', { aggregation: 'krum', aggregationParams: { f: 1, m: 5 }, minParticipants: 4 }],
      ['topk fraction 0', { compression: 'topk', compressionParams: { fraction: 0 } }],
      ['topk fraction 1.5', { compression: 'topk', compressionParams: { fraction: 1.5 } }],
      ['fraction for fp32', { compressionParams: { fraction: 0.1 } }],
      ['int8 block size 0', { compression: 'int8', compressionParams: { blockSize: 0 } }],
      ['capMs < minWaitMs', { timing: { minWaitMs: 5000, capMs: 1000 } }],
      ['roundTimeoutMs 0', { timing: { roundTimeoutMs: 0 } }],
      ['deadlineK 101', { timing: { deadlineK: 101 } }],
      ['unknown timing field', { timing: { foo: 1 } }],
      ['unknown top-level field', { priority: 'high' }],
      ['dataset name with uppercase and spaces', { dataset: 'My Data' }],
      ['empty dataset name', { dataset: '' }]
    ]
    it.each(badCreates)('refuses a job with %s (400, service not called)', async (_name, over) => {
      const before = svc.created.length
      const r = await inject('POST', '/v1/training/jobs', { json: { ...validCreate(), ...over } })
      expect(r.status, r.text).toBe(400)
      expect(r.body.error.code).toBe('ERR_VALIDATION')
      expect(typeof r.body.error.message).toBe('string')
      expect(svc.created.length).toBe(before)
    })

    it.each(['dataset', 'rounds', 'model', 'aggregation', 'compression', 'learningRate'])('refuses a job without %s', async (field) => {
      const body: Record<string, unknown> = { ...validCreate() }
      delete body[field]
      const r = await inject('POST', '/v1/training/jobs', { json: body })
      expect(r.status).toBe(400)
      expect(r.body.error.code).toBe('ERR_VALIDATION')
    })

    it('accepts each bound at its edge', async () => {
      for (const over of [
        { rounds: 1 }, { rounds: 10_000 }, { minParticipants: 1 }, { minParticipants: 256 }, { localEpochs: 1000 }, { batchSize: 100_000 },
        { learningRate: 10 }, { learningRate: 1e-9 }, { target: { metric: 'accuracy' as const, value: 1 } }, model({ layers: Array(16).fill(4096) }),
        { aggregation: 'trimmed-mean' as const, aggregationParams: { beta: 0.49 } }, { compression: 'topk' as const, compressionParams: { fraction: 1 } },
        { aggregation: 'krum' as const, aggregationParams: { f: 2, m: 5 }, minParticipants: 5 }, { timing: { minWaitMs: 0, capMs: 1 } }
      ]) await createJob(over as Partial<CreateJobRequest>)
    })

    const badJoins: Array<[string, Record<string, unknown>]> = [
      ['index == of', { dataset: 'digits', partition: { scheme: 'iid', index: 5, of: 5, seed: 1 } }],
      ['index > of', { dataset: 'digits', partition: { scheme: 'shards', index: 7, of: 5, seed: 1 } }],
      ['of 0', { dataset: 'digits', partition: { scheme: 'iid', index: 0, of: 0, seed: 1 } }],
      ['negative index', { dataset: 'digits', partition: { scheme: 'iid', index: -1, of: 5, seed: 1 } }],
      ['unknown scheme', { dataset: 'digits', partition: { scheme: 'random', index: 0, of: 5, seed: 1 } }],
      ['dirichlet alpha 0', { dataset: 'digits', partition: { scheme: 'dirichlet', index: 0, of: 5, seed: 1, alpha: 0 } }],
      ['alpha for iid', { dataset: 'digits', partition: { scheme: 'iid', index: 0, of: 5, seed: 1, alpha: 0.5 } }],
      ['missing seed', { dataset: 'digits', partition: { scheme: 'iid', index: 0, of: 5 } }],
      ['testFraction 1', { dataset: 'digits', testFraction: 1 }],
      ['testFraction 0', { dataset: 'digits', testFraction: 0 }],
      ['no dataset', {}],
      ['extra field', { dataset: 'digits', epochs: 3 }]
    ]
    it.each(badJoins)('refuses a join with %s', async (_name, body) => {
      const id = await createJob()
      const before = svc.joins.length
      const r = await inject('POST', `/v1/training/jobs/${id}/join`, { json: body })
      expect(r.status, r.text).toBe(400)
      expect(r.body.error.code).toBe('ERR_VALIDATION')
      expect(svc.joins.length).toBe(before)
    })

    it.each([
      ['GET', `/v1/training/jobs/${UNKNOWN_ID}`],
      ['POST', `/v1/training/jobs/${UNKNOWN_ID}/join`],
      ['POST', `/v1/training/jobs/${UNKNOWN_ID}/leave`],
      ['GET', `/v1/training/jobs/${UNKNOWN_ID}/plot?format=svg`]
    ] as const)('%s %s: 404 ERR_NOT_FOUND for an unknown job', async (method, url) => {
      const r = await inject(method, url, url.endsWith('/join') ? { json: { dataset: 'digits' } } : {})
      expect(r.status, r.text).toBe(404)
      expect(r.body.error.code).toBe('ERR_NOT_FOUND')
    })

    it.each(['abc', 'F'.repeat(64), 'f'.repeat(63), 'g'.repeat(64)])('refuses the malformed job id %s with 400', async (id) => {
      const r = await inject('GET', `/v1/training/jobs/${id}`)
      expect(r.status).toBe(400)
      expect(r.body.error.code).toBe('ERR_VALIDATION')
    })

    it.each(['format=png', 'width=10', 'height=99999', 'colour=red'])('refuses plot query %s', async (q) => {
      const id = await createJob()
      expect((await inject('GET', `/v1/training/jobs/${id}/plot?${q}`)).status).toBe(400)
    })

    it('needs the bearer token like every other route', async () => {
      const r = await inject('GET', '/v1/training/jobs', { auth: false })
      expect(r.status).toBe(401)
    })
  })

  // issue 11: export, evaluate and predict
  describe('the trained model', () => {
    it('exports tfjs files and meshnode.json as JSON, and the raw MND1 file as bytes', async () => {
      const id = await createJob()
      const r = await inject('GET', `/v1/training/jobs/${id}/model?format=tfjs`)
      expect(r.status, r.text).toBe(200)
      expect(Object.keys(r.body).sort()).toEqual(['meshnode.json', 'model.json', 'weights.bin'])
      expect(Buffer.from(r.body['weights.bin'], 'base64')).toEqual(Buffer.from([1, 2, 3, 4]))
      expect(r.body['meshnode.json']).toMatchObject({ format: 'meshnode-model', job: id, features: 64, classLabels: null })
      const rawRes = await app.inject({ method: 'GET', url: `/v1/training/jobs/${id}/model?format=mnd1`, headers: { host: '127.0.0.1', ...AUTH } })
      expect(rawRes.statusCode).toBe(200)
      expect(rawRes.headers['content-type']).toContain('application/vnd.meshnode.weights')
      expect(rawRes.rawPayload.subarray(0, 4).toString()).toBe('MND1')
      expect((await inject('GET', `/v1/training/jobs/${id}/model?format=onnx`)).status).toBe(400)
      expect((await inject('GET', `/v1/training/jobs/${'0'.repeat(64)}/model`)).status).toBe(404)
    })

    it('evaluates and predicts, validating the bodies', async () => {
      const id = await createJob()
      const e = await inject('POST', `/v1/training/jobs/${id}/evaluate`, { json: { dataset: 'digits' } })
      expect(e.status, e.text).toBe(200)
      expect(e.body).toMatchObject({ accuracy: 0.75, confusion: [[2, 0], [1, 1]], classLabels: ['no', 'yes'], dataset: 'digits' })
      expect((await inject('POST', `/v1/training/jobs/${id}/evaluate`, { json: { dataset: 'Bad Name' } })).status).toBe(400)
      const p = await inject('POST', `/v1/training/jobs/${id}/predict`, { json: { rows: [[1, 2], [-1, 0]] } })
      expect(p.status, p.text).toBe(200)
      expect(p.body.predictions.map((q: { label: string }) => q.label)).toEqual(['yes', 'no'])
      for (const bad of [{}, { rows: [] }, { rows: [['x']] }, { rows: [[1]], extra: 1 }]) {
        expect((await inject('POST', `/v1/training/jobs/${id}/predict`, { json: bad })).status, JSON.stringify(bad)).toBe(400)
      }
    })
  })

  // issue 11, defect 7: a job could not be stopped for the mesh, and dead jobs stayed listed forever
  describe('stop and forget', () => {
    it('the creator stops a job; only then can it be forgotten, after which it is gone', async () => {
      const id = await createJob()
      const early = await inject('DELETE', `/v1/training/jobs/${id}`)
      expect(early.status, early.text).toBe(409)
      expect(early.body.error.code).toBe('ERR_JOB_ACTIVE')
      const stopped = await inject('POST', `/v1/training/jobs/${id}/stop`)
      expect(stopped.status, stopped.text).toBe(200)
      expect(stopped.body.status).toBe('stopped')
      expect(Value.Check(JobViewSchema, stopped.body)).toBe(true)
      const gone = await inject('DELETE', `/v1/training/jobs/${id}`)
      expect(gone.status, gone.text).toBe(200)
      expect(gone.body).toEqual({ forgotten: id })
      expect((await inject('GET', `/v1/training/jobs/${id}`)).status).toBe(404)
    })

    it('refuses a stop from a node that did not create the job with 403', async () => {
      const id = await createJob()
      svc.jobs.get(id)!.spec.creator = '12D3KooWsomeoneelse'
      const r = await inject('POST', `/v1/training/jobs/${id}/stop`)
      expect(r.status, r.text).toBe(403)
      expect(r.body.error.code).toBe('ERR_NOT_CREATOR')
      expect(svc.jobs.get(id)!.status).not.toBe('stopped')
    })
  })

  describe('service errors', () => {
    const cases: Array<[string, unknown, number, string]> = [
      ['ERR_NOT_FOUND', new TrainingError('ERR_NOT_FOUND', 'gone'), 404, 'ERR_NOT_FOUND'],
      ['ERR_DATASET_NOT_FOUND', new TrainingError('ERR_DATASET_NOT_FOUND', 'no dataset x'), 400, 'ERR_DATASET_NOT_FOUND'],
      ['ERR_JOB_EXISTS', new TrainingError('ERR_JOB_EXISTS', 'dup'), 400, 'ERR_JOB_EXISTS'],
      ['ERR_MODEL_SPEC', new TrainingError('ERR_MODEL_SPEC', 'the output layer needs at least 2 classes'), 400, 'ERR_MODEL_SPEC'],
      ['ERR_ARGUMENT', new TrainingError('ERR_ARGUMENT', 'alpha'), 400, 'ERR_ARGUMENT'],
      // what createJob's checkJobSpec throws for a spec the mesh would refuse
      ['ERR_BOUNDS', new GossipValidationError('reject', 'ERR_BOUNDS', 'timing.capMs must be >= timing.minWaitMs'), 400, 'ERR_BOUNDS'],
      ['ERR_STORAGE (other codes)', new MeshError('ERR_STORAGE', 'disk on fire'), 500, 'ERR_INTERNAL'],
      ['a plain Error', new Error('bug'), 500, 'ERR_INTERNAL']
    ]
    it.each(cases)('maps %s from the service', async (_name, err, status, code) => {
      svc.failWith = err
      const r = await inject('POST', '/v1/training/jobs', { json: validCreate() })
      expect(r.status, r.text).toBe(status)
      expect(r.body.error.code).toBe(code)
      if (status === 400) expect(r.body.error.message).toBe((err as Error).message)
      if (status === 500) expect(r.body.error.message).toBe('internal error')
    })

    it('maps errors from list, join, leave, plot and datasets too', async () => {
      const id = await createJob()
      const calls: Array<[string, string, Record<string, unknown>]> = [
        ['GET', '/v1/training/jobs', {}],
        ['GET', `/v1/training/jobs/${id}`, {}],
        ['POST', `/v1/training/jobs/${id}/join`, { json: { dataset: 'digits' } }],
        ['POST', `/v1/training/jobs/${id}/leave`, {}],
        ['GET', `/v1/training/jobs/${id}/plot`, {}],
        ['GET', '/v1/training/datasets', {}],
        ['POST', '/v1/training/datasets/x', { body: '1,2,0\n' }]
      ]
      for (const [method, url, opts] of calls) {
        svc.failWith = new TrainingError('ERR_JOB_BUSY', 'busy')
        const r = await inject(method as 'GET' | 'POST', url, opts)
        expect(r.status, `${method} ${url}: ${r.text}`).toBe(400)
        expect(r.body.error.code).toBe('ERR_JOB_BUSY')
      }
    })

    it('a join with an unknown dataset is a 400 with the service\'s code', async () => {
      const id = await createJob()
      const r = await inject('POST', `/v1/training/jobs/${id}/join`, { json: { dataset: 'nope' } })
      expect(r.status).toBe(400)
      expect(r.body.error.code).toBe('ERR_DATASET_NOT_FOUND')
    })
  })

  describe('datasets', () => {
    it('imports CSV text with the label column and header options', async () => {
      const csv = 'a,b,label\n0.1,0.2,0\n0.3,0.4,1\n0.5,0.6,2\n'
      const r = await inject('POST', '/v1/training/datasets/iris-small?format=csv&labelColumn=last&header=true', { body: csv, contentType: 'text/csv; charset=utf-8' })
      expect(r.status, r.text).toBe(200)
      expect(Value.Check(DatasetInfoView, r.body)).toBe(true)
      expect(r.body).toEqual({ name: 'iris-small', rows: 3, features: 2, classes: 3, builtin: false })
      expect(svc.imports.at(-1)).toEqual({ name: 'iris-small', text: csv, format: 'csv', opts: { labelColumn: 'last', header: true } })
    })

    it.each([
      ['first', 'first'], ['last', 'last'], ['0', 0], ['12', 12]
    ] as const)('passes labelColumn=%s as %j', async (q, expected) => {
      const r = await inject('POST', `/v1/training/datasets/d1?labelColumn=${q}&header=false`, { body: '0,1\n1,0\n' })
      expect(r.status, r.text).toBe(200)
      expect(svc.imports.at(-1)?.opts).toEqual({ labelColumn: expected, header: false })
    })

    it.each([
      ['application/x-ndjson', '', 'jsonl'],
      ['text/csv', '', 'csv'],
      ['text/plain', '', 'csv'],
      ['text/plain', '?format=jsonl', 'jsonl'],
      ['application/x-ndjson', '?format=jsonl', 'jsonl']
    ])('content type %s with query "%s" imports as %s', async (contentType, q, format) => {
      const body = format === 'jsonl' ? '{"x":[1,2],"y":0}\n{"x":[3,4],"y":1}\n' : '1,2,0\n3,4,1\n'
      const r = await inject('POST', `/v1/training/datasets/d2${q}`, { body, contentType })
      expect(r.status, r.text).toBe(200)
      expect(svc.imports.at(-1)?.format).toBe(format)
      expect(r.body.rows).toBe(2)
    })

    it('accepts a body larger than the server-wide limit (the route allows 64 MiB)', async () => {
      const row = '0.125,0.25,0.5,1\n'
      const csv = row.repeat(Math.ceil(2 * 1024 * 1024 / row.length))
      const r = await inject('POST', '/v1/training/datasets/big', { body: csv })
      expect(r.status, r.text.slice(0, 200)).toBe(200)
      expect(r.body.rows).toBe(csv.length / row.length)
    })

    it('refuses a body over 64 MiB with 413', async () => {
      const r = await inject('POST', '/v1/training/datasets/huge', { body: 'x'.repeat(MAX_DATASET_UPLOAD_BYTES + 1) })
      expect(r.status).toBe(413)
      expect(r.body.error.code).toBe('ERR_TOO_LARGE')
    })

    it.each([
      ['an unparsable body', '/v1/training/datasets/bad', { body: 'a,b\nnot,numbers\n' }, 400, 'ERR_DATASET_PARSE'],
      ['an empty body', '/v1/training/datasets/empty', { body: '  \n' }, 400, 'ERR_DATASET_EMPTY'],
      ['a bad name', '/v1/training/datasets/Bad%20Name', { body: '1,0\n' }, 400, 'ERR_VALIDATION'],
      ['a bad labelColumn', '/v1/training/datasets/d3?labelColumn=middle', { body: '1,0\n' }, 400, 'ERR_VALIDATION'],
      ['an unknown format', '/v1/training/datasets/d3?format=xlsx', { body: '1,0\n' }, 400, 'ERR_VALIDATION'],
      ['an unknown query field', '/v1/training/datasets/d3?sep=tab', { body: '1,0\n' }, 400, 'ERR_VALIDATION'],
      ['a JSON body', '/v1/training/datasets/d3', { json: { rows: [] } }, 415, 'ERR_UNSUPPORTED_MEDIA_TYPE'],
      ['an octet-stream body', '/v1/training/datasets/d3', { body: '1,0\n', contentType: 'application/octet-stream' }, 415, 'ERR_UNSUPPORTED_MEDIA_TYPE']
    ] as const)('refuses %s', async (_name, url, opts, status, code) => {
      const r = await inject('POST', url, opts as { body?: string, json?: unknown, contentType?: string })
      expect(r.status, r.text).toBe(status)
      expect(r.body.error.code).toBe(code)
    })

    // issue 11, defects 5 and 6: class names in a given order, standardisation
    it('passes the class names and --standardize to the service', async () => {
      const r = await inject('POST', '/v1/training/datasets/iris?labels=setosa,versicolor,virginica&standardize=true', { body: '1,2,0\n' })
      expect(r.status, r.text).toBe(200)
      expect(svc.imports.at(-1)?.opts).toMatchObject({ labels: ['setosa', 'versicolor', 'virginica'], standardize: true })
      expect((await inject('POST', '/v1/training/datasets/iris?standardize=maybe', { body: '1,2,0\n' })).status).toBe(400)
    })

    it('lists datasets', async () => {
      expect((await inject('POST', '/v1/training/datasets/iris-small', { body: '1,2,0\n' })).status).toBe(200)
      const r = await inject('GET', '/v1/training/datasets')
      expect(r.status).toBe(200)
      expect(Value.Check(Type.Object({ datasets: Type.Array(DatasetInfoView) }), r.body)).toBe(true)
      expect(r.body.datasets[0]).toEqual({ name: 'digits', rows: 1797, features: 64, classes: 10, builtin: true })
      expect(r.body.datasets.map((d: DatasetInfo) => d.name)).toContain('iris-small')
    })

    it('keeps text bodies out of the JSON routes', async () => {
      const r = await inject('POST', '/v1/training/jobs', { body: 'rounds=5', contentType: 'text/plain' })
      expect(r.status).toBe(400)
    })
  })

  describe('OpenAPI', () => {
    it('documents every training route and still passes a real validator', async () => {
      const doc = (await app.inject({ method: 'GET', url: '/v1/openapi.json', headers: { host: '127.0.0.1', ...AUTH } })).json()
      await expect(SwaggerParser.validate(structuredClone(doc))).resolves.toBeDefined()
      const expected: Array<[string, string]> = [
        ['/v1/training/jobs', 'post'], ['/v1/training/jobs', 'get'], ['/v1/training/jobs/{id}', 'get'], ['/v1/training/jobs/{id}/join', 'post'],
        ['/v1/training/jobs/{id}/leave', 'post'], ['/v1/training/jobs/{id}/plot', 'get'], ['/v1/training/datasets/{name}', 'post'], ['/v1/training/datasets', 'get']
      ]
      for (const [path, method] of expected) {
        const op = doc.paths[path]?.[method]
        expect(op, `${method} ${path}`).toBeDefined()
        expect(op.tags).toEqual(['training'])
        expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['400', '401', '404']))
      }
      expect(Object.keys(doc.paths['/v1/training/datasets/{name}'].post.requestBody.content).sort()).toEqual(['application/x-ndjson', 'text/csv', 'text/plain'])
      expect(doc.paths['/v1/training/jobs/{id}/plot'].get.responses['200'].content['image/svg+xml']).toBeDefined()
      expect(doc.paths['/v1/training/jobs'].post.responses['201']).toBeDefined()
      const view = doc.paths['/v1/training/jobs/{id}'].get.responses['200'].content['application/json'].schema
      expect(Object.keys(view.properties.rounds.items.properties).sort()).toEqual(Object.keys(report(0)).sort())
      expect(Object.keys(view.properties.spec.properties)).toEqual(expect.arrayContaining(['model', 'dataset', 'rounds', 'aggregation', 'compression', 'timing']))
    })
  })
})
