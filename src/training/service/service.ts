/**
 * The training service: the API the node offers operators (create, join and leave jobs, import datasets), a facade
 * over the job runner (the round machines, gossip, persistence), the round work (TensorFlow.js training, Helia
 * transfers, recomputation) and the round reports.
 */
import { TrainingError } from '../errors.js'
import { encodeDelta } from '../core/codec.js'
import { DatasetStore, parseCsv, parseJsonLines, isBuiltin, BUILTIN_DATASETS } from '../data/index.js'
import { initialWeights } from '../model/init.js'
import { resolveInputShape, validateModelSpec } from '../model/spec.js'
import { announcedJobIssue, createRequestIssue, jobPartsOf } from '../protocol/job-check.js'
import { createJobSpec } from '../protocol/job-id.js'
import type { CreateJobRequest, JoinJobRequest } from '../protocol/requests.js'
import type { DatasetInfo, ImportOptions, JobView, TrainingApi } from './api-types.js'
import type { TrainingServiceComponents, TrainingServiceInit } from './components.js'
import { JobRunner } from './job-runner.js'
import { loadDataset, localData } from './local-data.js'
import { RoundReports, jobView } from './reports.js'
import type { JobRuntime } from './runtime.js'
import { RoundWork } from './work.js'

/** The training subsystem's service (built by `training(init)(components)`). */
export class TrainingService implements TrainingApi {
  private readonly runner: JobRunner
  private readonly work: RoundWork
  private readonly datasets: DatasetStore

  constructor (private readonly c: TrainingServiceComponents, init: TrainingServiceInit) {
    this.datasets = new DatasetStore(init.dataDir)
    this.work = new RoundWork({
      artifacts: c.artifacts,
      logger: c.logger,
      fetchTimeoutMs: init.fetchTimeoutMs,
      resources: init.resources,
      adversary: init.adversary === 'none' ? undefined : { kind: init.adversary, scale: init.adversaryScale },
      trainingSpeed: c.trainingSpeed,
      metrics: c.metrics
    })
    const reports = new RoundReports({ evaluate: async (job, cid, data) => await this.work.evaluate(job, cid, data), events: c.events, logger: c.logger, clock: c.clock, metrics: c.metrics })
    this.runner = new JobRunner({
      peerId: c.peerId,
      privateKey: c.privateKey,
      gossip: c.gossip,
      state: c.state,
      events: c.events,
      logger: c.logger,
      clock: c.clock,
      penalties: c.penalties,
      metrics: c.metrics,
      work: this.work,
      reports,
      datasets: this.datasets
    }, init)
  }

  async start (): Promise<void> {
    await this.runner.start()
  }

  async stop (): Promise<void> {
    await this.runner.stop()
    this.work.dispose()
  }

  /**
   * Create and announce a job. A request peers would drop is refused here (ERR_BOUNDS, a client error) before
   * anything is stored or published, rather than announced as a job nobody else takes.
   */
  async createJob (req: CreateJobRequest): Promise<{ id: string }> {
    const issue = createRequestIssue(req)
    const parts = jobPartsOf(req)
    if (issue !== undefined || parts === undefined) throw new TrainingError('ERR_BOUNDS', issue?.message ?? 'the request does not fit its schema')
    const model = validateModelSpec(req.model)
    const ds = await loadDataset(req.dataset, this.datasets)
    const inputShape = resolveInputShape(model, { features: ds.features, shape: ds.shape })
    const { flat } = initialWeights(model, inputShape)
    const info = await this.c.artifacts.add(encodeDelta(flat, { kind: 'fp32' }), { name: `model-${req.dataset}-init`, kind: 'model', mediaType: 'application/vnd.meshnode.weights' })
    const spec = createJobSpec({
      ...parts,
      creator: this.c.peerId,
      model: model.arch === 'mlp' ? { ...model, inputShape } : model,
      dataset: req.dataset,
      rounds: req.rounds,
      localEpochs: req.localEpochs,
      batchSize: req.batchSize,
      learningRate: req.learningRate,
      ...(req.target != null ? { target: req.target } : {}),
      initialModelCid: info.cid,
      createdAt: this.c.clock.now()
    })
    const refused = announcedJobIssue(spec)
    if (refused !== undefined) throw new TrainingError('ERR_BOUNDS', refused.message)
    await this.runner.announce(spec)
    this.c.events.emit('training.job', { jobId: spec.id, dataset: spec.dataset, rounds: spec.rounds })
    return { id: spec.id }
  }

  async joinJob (id: string, req: JoinJobRequest): Promise<JobView> {
    const job = this.require(id)
    if (job.join != null && !job.left) throw new TrainingError('ERR_JOB', 'this node already joined the job')
    const data = await localData(req, this.datasets)
    if (data.train.features !== job.inputShape.reduce((a, b) => a * b, 1)) {
      throw new TrainingError('ERR_DATASET', `dataset ${req.dataset} has ${data.train.features} features; the job's model takes ${job.inputShape.join('x')}`)
    }
    this.work.checkMemory(job, data)
    await this.work.checkInitialModel(job)
    job.join = req
    job.data = data
    job.left = false
    await this.runner.enqueue(job, { kind: 'join', samples: data.train.y.length })
    return jobView(job)
  }

  async leaveJob (id: string): Promise<JobView> {
    const job = this.require(id)
    if (job.join == null || job.left) throw new TrainingError('ERR_JOB', 'this node has not joined the job')
    job.left = true
    await this.runner.enqueue(job, { kind: 'leave' })
    return jobView(job)
  }

  listJobs (): JobView[] {
    return this.runner.all().map(jobView).sort((a, b) => b.spec.createdAt - a.spec.createdAt)
  }

  getJob (id: string): JobView | undefined {
    const job = this.runner.get(id)
    return job == null ? undefined : jobView(job)
  }

  async importDataset (name: string, text: string, format: 'csv' | 'jsonl', opts: ImportOptions = {}): Promise<DatasetInfo> {
    if (isBuiltin(name)) throw new TrainingError('ERR_DATASET', `${name} is a built-in dataset name`)
    const ds = format === 'csv' ? parseCsv(text, { labelColumn: opts.labelColumn, header: opts.header, name }) : parseJsonLines(text, { name })
    const info = await this.datasets.save(name, ds)
    this.c.events.emit('training.dataset', { name, rows: info.rows })
    return { name, rows: info.rows, features: info.features, classes: info.classes, builtin: false }
  }

  async listDatasets (): Promise<DatasetInfo[]> {
    const builtin = await Promise.all(BUILTIN_DATASETS.map(async n => {
      const ds = await loadDataset(n, this.datasets)
      return { name: n, rows: ds.y.length, features: ds.features, classes: ds.classes, builtin: true }
    }))
    const own = (await this.datasets.list()).map(d => ({ name: d.name, rows: d.rows, features: d.features, classes: d.classes, builtin: false }))
    return [...builtin, ...own]
  }

  private require (id: string): JobRuntime {
    const job = this.runner.get(id)
    if (job == null) throw new TrainingError('ERR_NOT_FOUND', `no training job ${id}`)
    return job
  }
}
