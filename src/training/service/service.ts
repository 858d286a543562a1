/**
 * The training service: the API the node offers operators (create, join and leave jobs, import datasets), a facade
 * over the job runner (the round machines, gossip, persistence), the round work (TensorFlow.js training, Helia
 * transfers, recomputation) and the round reports.
 */
import { TrainingError } from '../errors.js'
import { DatasetStore, parseCsv, parseJsonLines, isBuiltin, BUILTIN_DATASETS, featureRangeWarning, standardize } from '../data/index.js'
import { buildInitialModel } from '../model/init-build.js'
import { resolveInputShape, validateModelSpec } from '../model/spec.js'
import { announcedJobIssue, createRequestIssue, jobPartsOf } from '../protocol/job-check.js'
import { createJobSpec } from '../protocol/job-id.js'
import type { CreateJobRequest, JoinJobRequest } from '../protocol/requests.js'
import { datasetInfoOf, type DatasetInfo, type ImportOptions, type JobView, type TrainingApi } from './api-types.js'
import type { TrainingServiceComponents, TrainingServiceInit } from './components.js'
import { checkDatasetFits } from './fit-check.js'
import { HeavyGate } from './heavy-gate.js'
import { JobRunner } from './job-runner.js'
import { warmStartModel } from './warm-start.js'
import { evaluateModel, exportModel, predictRows, type Evaluation, type ModelExport, type Prediction } from './model-use.js'
import { loadDataset, localData } from './local-data.js'
import { RoundReports, jobView } from './reports.js'
import type { JobRuntime } from './runtime.js'
import { RoundWork } from './work.js'
import { RewardsBridge } from './rewards.js'
import { HyperparamTable, hyperparamsKind, raiseRollbacks } from './hyperparams-kind.js'
import { rewardPayoutKind } from './payout-kind.js'
import { SealVoting } from './seal-voting.js'

/** The training subsystem's service (built by `training(init)(components)`). */
export class TrainingService implements TrainingApi {
  private readonly runner: JobRunner
  /** Training rewards (rewarded jobs pay contributors through the ledger port). */
  private readonly rewards: RewardsBridge
  private readonly work: RoundWork
  private readonly datasets: DatasetStore
  /** Large initial models built at once (each holds up to ~200 MB and a core for seconds). */
  private readonly heavy = new HeavyGate(1)
  private readonly fetchTimeoutMs: number
  /** Executed `hyperparams` changes per job (the seam local training reads each round). */
  private readonly hyperparams: HyperparamTable
  private unregisterKind?: () => void
  private unregisterPayoutKind?: () => void
  /** Seals through consensus, for the jobs that use it (`sealVotingOf`), where the node runs consensus. */
  private readonly seals?: SealVoting
  private unregisterSealKind?: () => void
  private rollbackTimer?: NodeJS.Timeout

  constructor (private readonly c: TrainingServiceComponents, private readonly init: TrainingServiceInit) {
    this.datasets = new DatasetStore(init.dataDir)
    this.fetchTimeoutMs = init.fetchTimeoutMs
    this.hyperparams = new HyperparamTable(c.state)
    if (c.proposals != null) {
      this.seals = new SealVoting({
        proposals: c.proposals,
        poke: id => { const job = this.runner.get(id); if (job != null) void this.runner.enqueue(job, { kind: 'tick' }) },
        logger: c.logger
      })
    }
    this.work = new RoundWork({
      artifacts: c.artifacts,
      logger: c.logger,
      fetchTimeoutMs: init.fetchTimeoutMs,
      resources: init.resources,
      adversary: init.adversary === 'none' ? undefined : { kind: init.adversary, scale: init.adversaryScale },
      trainingSpeed: c.trainingSpeed,
      metrics: c.metrics,
      hyperparams: (job, round) => this.hyperparams.effective(job.spec, round)
    })
    const reports = new RoundReports({
      evaluate: async (job, cid, data) => await this.work.evaluate(job, cid, data),
      self: c.peerId,
      publish: async msg => await this.runner.send(msg),
      events: c.events,
      logger: c.logger,
      clock: c.clock,
      metrics: c.metrics
    })
    this.rewards = new RewardsBridge({
      self: c.peerId,
      port: c.rewards,
      proposals: c.proposals,
      state: c.state,
      jobs: () => this.runner.all(),
      job: id => this.runner.get(id),
      publish: async msg => await this.runner.send(msg),
      events: c.events,
      logger: c.logger
    })
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
      datasets: this.datasets,
      rewards: this.rewards,
      ...(this.seals != null ? { seals: this.seals } : {})
    }, init)
  }

  async start (): Promise<void> {
    await this.hyperparams.load()
    await this.rewards.load()
    // before the machines resume: they adopt seals by the QCs consensus already holds
    if (this.seals != null && this.c.proposals != null && this.unregisterSealKind == null) {
      this.seals.load()
      this.unregisterSealKind = this.c.proposals.registerKind(this.seals.kind())
    }
    await this.runner.start()
    await this.rewards.start()
    const proposals = this.c.proposals
    if (proposals != null && this.unregisterKind == null) {
      this.unregisterKind = proposals.registerKind(hyperparamsKind({
        table: this.hyperparams,
        logger: this.c.logger,
        job: id => {
          const job = this.runner.get(id)
          if (job == null) return undefined
          const v = job.machine.view()
          return { spec: job.spec, round: v.round, active: job.stopped == null && v.phase !== 'finished' }
        }
      }))
      // round payouts of rewarded jobs go through consensus where it is live (service/payout-kind.ts)
      this.unregisterPayoutKind = proposals.registerKind(rewardPayoutKind({
        job: id => this.runner.get(id),
        release: async (payload, proposalId) => { await this.rewards.release(payload, proposalId) }
      }))
      let busy = false
      this.rollbackTimer = setInterval(() => {
        if (busy) return
        busy = true
        void raiseRollbacks({ table: this.hyperparams, jobs: this.runner.all().map(j => this.rollbackView(j)), self: this.c.peerId, margin: this.init.hyperparamsRollbackMargin, proposals, logger: this.c.logger })
          .catch(err => { this.c.logger.warn({ err: (err as Error).message }, 'hyperparameter rollback check failed') })
          .finally(() => { busy = false })
      }, 2000)
      this.rollbackTimer.unref()
    }
  }

  async stop (): Promise<void> {
    clearInterval(this.rollbackTimer)
    this.unregisterKind?.()
    this.unregisterKind = undefined
    this.unregisterPayoutKind?.()
    this.unregisterPayoutKind = undefined
    this.unregisterSealKind?.()
    this.unregisterSealKind = undefined
    await this.rewards.stop()
    await this.runner.stop()
    this.work.dispose()
  }

  /** What the rollback watch reads of a job: its reports, the round it is in here, whether it still trains. */
  private rollbackView (job: JobRuntime): Parameters<typeof raiseRollbacks>[0]['jobs'][number] {
    const v = job.machine.view()
    return { spec: job.spec, reports: job.reports, round: v.round, active: job.stopped == null && v.phase !== 'finished' }
  }

  /** The job's view with its hyperparameters. */
  private view (job: JobRuntime): JobView {
    const v = jobView(job)
    return { ...v, hyperparams: this.hyperparams.view(job.spec, v.round) }
  }

  /**
   * Create and announce a job. A request peers would drop is refused here (ERR_BOUNDS, a client error) before
   * anything is stored or published, rather than announced as a job nobody else takes.
   */
  async createJob (req: CreateJobRequest): Promise<{ id: string }> {
    const issue = createRequestIssue(req)
    const parts = jobPartsOf(req)
    if (issue !== undefined || parts === undefined) throw new TrainingError('ERR_BOUNDS', issue?.message ?? 'the request does not fit its schema')
    // a reward is refused (bad amount, no ledger) before anything is built; its funds are locked before the announcement
    const reward = this.rewards.rewardOf(req)
    const model = validateModelSpec(req.model)
    const ds = await loadDataset(req.dataset, this.datasets)
    checkDatasetFits(model, model.inputShape, ds)
    const inputShape = resolveInputShape(model, { features: ds.features, shape: ds.shape })
    // large models are built in a worker; at most HEAVY_REQUESTS at once (ERR_BUSY, 429, beyond)
    // warm start: continue from a trained model (checked to fit), else the seed's initial weights
    const warm = req.init != null ? await warmStartModel(this.c.artifacts, req.init.model, model, inputShape, this.fetchTimeoutMs) : undefined
    const info = warm ?? await this.heavy.run('building a large initial model', async () => {
      const init = await buildInitialModel(model, inputShape)
      return await this.c.artifacts.add(init.bytes, { name: `model-${req.dataset}-init`, kind: 'model', mediaType: 'application/vnd.meshnode.weights' })
    })
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
      ...(warm != null ? { warmStart: { modelHash: warm.modelHash } } : {}),
      ...(req.hyperparamBounds != null ? { hyperparamBounds: req.hyperparamBounds } : {}),
      ...(reward != null ? { reward } : {}),
      sealVoting: req.sealVoting ?? this.init.sealVoting,
      createdAt: this.c.clock.now()
    })
    const refused = announcedJobIssue(spec)
    if (refused !== undefined) throw new TrainingError('ERR_BOUNDS', refused.message)
    await this.rewards.reserve(spec)
    await this.runner.announce(spec)
    this.c.events.emit('training.job', { jobId: spec.id, dataset: spec.dataset, rounds: spec.rounds })
    return { id: spec.id }
  }

  async joinJob (id: string, req: JoinJobRequest): Promise<JobView> {
    const job = this.require(id)
    if (job.join != null && !job.left) throw new TrainingError('ERR_JOB', 'this node already joined the job')
    const data = await localData(req, this.datasets)
    checkDatasetFits(job.spec.model, job.inputShape, { ...data.train, name: req.dataset })
    this.work.checkMemory(job, data)
    await this.work.checkInitialModel(job)
    job.join = req
    job.data = data
    job.left = false
    await this.runner.enqueue(job, { kind: 'join', samples: data.train.y.length })
    this.rewards.onJoin(job)
    return this.view(job)
  }

  async leaveJob (id: string): Promise<JobView> {
    const job = this.require(id)
    if (job.join == null || job.left) throw new TrainingError('ERR_JOB', 'this node has not joined the job')
    job.left = true
    await this.runner.enqueue(job, { kind: 'leave' })
    return this.view(job)
  }

  async stopJob (id: string): Promise<JobView> {
    const job = this.require(id)
    if (job.spec.creator !== this.c.peerId) throw new TrainingError('ERR_NOT_CREATOR', `only the job's creator (${job.spec.creator}) may stop job ${id}; leave it instead`)
    if (job.stopped == null) await this.runner.stopJob(job)
    return this.view(job)
  }

  async forgetJob (id: string): Promise<void> {
    const job = this.require(id)
    const status = jobView(job).status
    if (status !== 'finished' && status !== 'stopped') {
      throw new TrainingError('ERR_JOB_ACTIVE', `job ${id} is ${status}: only a finished or stopped job can be forgotten (stop it, or leave it and wait for it to finish)`)
    }
    await this.runner.forget(job)
  }

  async exportModel (id: string): Promise<ModelExport> {
    return await exportModel(this.require(id), this.work, this.datasets)
  }

  async evaluateJob (id: string, req: { dataset?: string } = {}): Promise<Evaluation> {
    return await evaluateModel(this.require(id), this.work, this.datasets, req.dataset)
  }

  async predict (id: string, rows: number[][]): Promise<{ round: number, modelCid: string, predictions: Prediction[] }> {
    return await predictRows(this.require(id), this.work, this.datasets, rows)
  }

  listJobs (): JobView[] {
    return this.runner.all().map(j => this.view(j)).sort((a, b) => b.spec.createdAt - a.spec.createdAt)
  }

  getJob (id: string): JobView | undefined {
    const job = this.runner.get(id)
    return job == null ? undefined : this.view(job)
  }

  async importDataset (name: string, text: string, format: 'csv' | 'jsonl', opts: ImportOptions = {}): Promise<DatasetInfo> {
    if (isBuiltin(name)) throw new TrainingError('ERR_DATASET', `${name} is a built-in dataset name`)
    const parsed = format === 'csv'
      ? parseCsv(text, { labelColumn: opts.labelColumn, header: opts.header, labels: opts.labels, name })
      : parseJsonLines(text, { labels: opts.labels, name })
    const warning = featureRangeWarning(parsed)
    const ds = opts.standardize === true ? standardize(parsed) : parsed
    const info = await this.datasets.save(name, ds)
    if (warning !== undefined && opts.standardize !== true) this.c.logger.warn({ dataset: name }, warning)
    this.c.events.emit('training.dataset', { name, rows: info.rows })
    return {
      ...datasetInfoOf(name, info, false),
      ...(warning !== undefined && opts.standardize !== true ? { warnings: [warning] } : {})
    }
  }

  async listDatasets (): Promise<DatasetInfo[]> {
    const builtin = await Promise.all(BUILTIN_DATASETS.map(async n => {
      const ds = await loadDataset(n, this.datasets)
      return datasetInfoOf(n, { rows: ds.y.length, ...ds }, true)
    }))
    const own = (await this.datasets.list()).map(d => datasetInfoOf(d.name, d, false))
    return [...builtin, ...own]
  }

  private require (id: string): JobRuntime {
    const job = this.runner.get(id)
    if (job == null) throw new TrainingError('ERR_NOT_FOUND', `no training job ${id}`)
    return job
  }
}
