/**
 * The training service: the I/O shell around the pure round machine. It listens on `meshnode/training/1`, keeps one
 * JobMachine per job, persists each machine's snapshot in Level after every step (a crash resumes where it stopped),
 * and carries out the machine's actions: local training with TensorFlow.js, deltas and models through Helia,
 * deterministic aggregation and verification by recomputation, signed gossip, penalties, metrics and events.
 */
import type { PrivateKey } from '@libp2p/interface'
import type { TrainingMetrics } from '../metrics.js'
import type { Clock } from '../../common/clock.js'
import type { EventSink } from '../../common/events.js'
import type { TrainingEvents } from '../events.js'
import type { Logger } from '../../common/logger.js'
import { MeshError } from '../../common/errors.js'
import { TrainingError } from '../errors.js'
import type { GossipProcessor } from '../../protocols/gossip.js'
import { ReplayGuard, SeqSource } from '../../protocols/replay.js'
import type { PenaltyBook } from '../../protocols/penalties.js'
import { TOPICS } from '../../protocols/topics.js'
import { validateTrainingGossip } from '../../protocols/validate/training.js'
import type { ArtifactStore, StateStore } from '../../storage/index.js'
import { encodeDelta } from '../core/codec.js'
import { TopKCompressor } from '../core/topk-compressor.js'
import { manifestSize } from '../core/tensors.js'
import { DatasetStore, parseCsv, parseJsonLines, isBuiltin, BUILTIN_DATASETS } from '../data/index.js'
import { initialWeights } from '../model/init.js'
import { modelManifest, resolveInputShape, validateModelSpec, type ModelSpec } from '../model/spec.js'
import { checkJobSpec, createJobSpec, encodeTrainingMessage, type JobSpec, type RoundSeal, type TrainingMessage } from '../protocol/index.js'
import { JobMachine, type JobAction, type JobEvent, type JobMachineSnapshot } from '../round/index.js'
import type { CreateJobRequest, DatasetInfo, JobView, JoinJobRequest, RoundReport, TrainingApi } from './api-types.js'
import { loadDataset, localData } from './local-data.js'
import { RoundWork } from './work.js'
import type { JobRuntime } from './runtime.js'
import type { Adversary } from './adversary.js'

const SUB = 'training'
const DEFAULT_TIMING = { roundTimeoutMs: 20_000, deadlineK: 3, minWaitMs: 1000, capMs: 30_000, sealTimeoutMs: 15_000 }

export interface TrainingServiceInit {
  dataDir: string
  /** How long to wait for a delta or model from peers. */
  fetchTimeoutMs: number
  /** How often the creator re-announces an unfinished job (late joiners, restarted peers). */
  announceIntervalMs: number
  recordMaxAgeMs: number
  recordMaxSkewMs: number
  resources: { trainingThreads: number, maxMemoryMB: number, dutyCycle: number }
  /** Robustness-test knob (see adversary.ts): publish a Byzantine delta instead of the honest one. Never on real nodes. */
  adversary?: Adversary
}

export interface TrainingServiceComponents {
  peerId: string
  privateKey: PrivateKey
  gossip: GossipProcessor
  artifacts: ArtifactStore
  state: StateStore
  events: EventSink<TrainingEvents>
  logger: Logger
  clock: Clock
  penalties?: PenaltyBook
  metrics?: TrainingMetrics
  /** The node's measured training speed (samples/s), for the work budget. */
  trainingSpeed?: () => number | undefined
}

interface Persisted { spec: JobSpec, join?: JoinJobRequest, left?: boolean, reports: RoundReport[], snapshot: JobMachineSnapshot }

export class TrainingService implements TrainingApi {
  private readonly jobs = new Map<string, JobRuntime>()
  private readonly guard: ReplayGuard
  private readonly seq: SeqSource
  private readonly work: RoundWork
  private readonly datasets: DatasetStore
  private readonly log: Logger
  private announceTimer?: NodeJS.Timeout
  private started = false
  private readonly metrics?: TrainingMetrics

  constructor (private readonly c: TrainingServiceComponents, private readonly init: TrainingServiceInit) {
    this.log = c.logger
    this.guard = new ReplayGuard(c.clock, { maxAgeMs: init.recordMaxAgeMs, maxSkewMs: init.recordMaxSkewMs })
    this.seq = new SeqSource(c.clock)
    this.datasets = new DatasetStore(init.dataDir)
    this.metrics = c.metrics
    this.work = new RoundWork({
      artifacts: c.artifacts,
      logger: c.logger,
      fetchTimeoutMs: init.fetchTimeoutMs,
      resources: init.resources,
      adversary: init.adversary,
      trainingSpeed: c.trainingSpeed,
      metrics: this.metrics
    })
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    for await (const [id, value] of this.c.state.sublevel<Persisted>(SUB).iterator()) {
      try { this.restore(id, value) } catch (err) { this.log.warn({ job: id, err: (err as Error).message }, 'cannot restore training job') }
    }
    this.c.gossip.register({
      topic: TOPICS.training,
      validate: async (data, ctx) => await validateTrainingGossip(data, ctx.origin, this.guard),
      deliver: rec => { this.onMessage(rec.signer, rec.seq, rec.payload) }
    })
    this.announceTimer = setInterval(() => { this.reannounce() }, this.init.announceIntervalMs)
    this.announceTimer.unref()
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    clearInterval(this.announceTimer)
    for (const job of this.jobs.values()) clearTimeout(job.timer)
    await Promise.allSettled([...this.jobs.values()].map(async j => await j.queue))
    this.work.dispose()
  }

  // ---- API ---------------------------------------------------------------------------------------------------

  async createJob (req: CreateJobRequest): Promise<{ id: string }> {
    const model = validateModelSpec(req.model) as ModelSpec
    const ds = await loadDataset(req.dataset, this.datasets)
    const inputShape = resolveInputShape(model, { features: ds.features, shape: ds.shape })
    const { flat } = initialWeights(model, inputShape)
    const info = await this.c.artifacts.add(encodeDelta(flat, { kind: 'fp32' }), { name: `model-${req.dataset}-init`, kind: 'model', mediaType: 'application/vnd.meshnode.weights' })
    const p = req.aggregationParams ?? {}
    const aggregation = req.aggregation === 'trimmed-mean' ? { kind: 'trimmed-mean' as const, beta: p.beta ?? 0.1 }
      : req.aggregation === 'krum' ? { kind: 'krum' as const, f: p.f ?? 1, ...(p.m != null ? { m: p.m } : {}) }
        : { kind: req.aggregation }
    const cp = req.compressionParams ?? {}
    const compression = req.compression === 'topk' ? { kind: 'topk' as const, fraction: cp.fraction ?? 0.1 }
      : req.compression === 'int8' ? { kind: 'int8' as const, ...(cp.blockSize != null ? { blockSize: cp.blockSize } : {}) }
        : { kind: req.compression }
    const spec = createJobSpec({
      creator: this.c.peerId,
      model: model.arch === 'mlp' ? { ...model, inputShape } : model,
      dataset: req.dataset,
      rounds: req.rounds,
      minParticipants: req.minParticipants,
      localEpochs: req.localEpochs,
      batchSize: req.batchSize,
      learningRate: req.learningRate,
      aggregation,
      compression,
      ...(req.target != null ? { target: req.target } : {}),
      initialModelCid: info.cid,
      createdAt: this.c.clock.now(),
      timing: { ...DEFAULT_TIMING, ...req.timing }
    } as Parameters<typeof createJobSpec>[0])
    // peers drop a spec that fails these checks: refuse it here (ERR_BOUNDS, a 400) rather than announce a dead job
    checkJobSpec(spec)
    const job = this.addJob(spec)
    await this.persist(job)
    await this.publish({ type: 'job', job: spec })
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
    await this.enqueue(job, { kind: 'join', samples: data.train.y.length })
    return this.view(job)
  }

  async leaveJob (id: string): Promise<JobView> {
    const job = this.require(id)
    if (job.join == null || job.left) throw new TrainingError('ERR_JOB', 'this node has not joined the job')
    job.left = true
    await this.enqueue(job, { kind: 'leave' })
    return this.view(job)
  }

  listJobs (): JobView[] {
    return [...this.jobs.values()].map(j => this.view(j)).sort((a, b) => b.spec.createdAt - a.spec.createdAt)
  }

  getJob (id: string): JobView | undefined {
    const job = this.jobs.get(id)
    return job == null ? undefined : this.view(job)
  }

  async importDataset (name: string, text: string, format: 'csv' | 'jsonl', opts: { labelColumn?: 'first' | 'last' | number, header?: boolean } = {}): Promise<DatasetInfo> {
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

  // ---- jobs and the machine ---------------------------------------------------------------------------------

  private require (id: string): JobRuntime {
    const job = this.jobs.get(id)
    if (job == null) throw new MeshError('ERR_NOT_FOUND', `no training job ${id}`)
    return job
  }

  private addJob (spec: JobSpec, snapshot?: JobMachineSnapshot): JobRuntime {
    const model = spec.model as ModelSpec
    const inputShape = resolveInputShape(model)
    // sized from the spec alone: a gossiped spec may describe up to 50M parameters
    const params = manifestSize(modelManifest(model, inputShape))
    const machine = new JobMachine({ self: this.c.peerId, job: spec })
    if (snapshot != null) machine.restore(snapshot)
    const job: JobRuntime = {
      spec, machine, params, inputShape, left: false, reports: [], roundStartedAt: this.c.clock.now(),
      bytes: { sent: 0, received: 0 }, queue: Promise.resolve(), prefetched: new Map(),
      topk: spec.compression.kind === 'topk' ? new TopKCompressor(spec.compression.fraction) : undefined
    }
    this.jobs.set(spec.id, job)
    return job
  }

  private restore (id: string, p: Persisted): void {
    const job = this.addJob(p.spec, p.snapshot)
    job.join = p.join
    job.left = p.left === true
    job.reports = p.reports
    job.queue = job.queue.then(async () => {
      // a finished job trains and evaluates nothing more
      if (job.join != null && !job.left && job.machine.view().phase !== 'finished') job.data = await localData(job.join, this.datasets)
      await this.carryOut(job, job.machine.resume(this.c.clock.now()))
    }).catch(err => { this.log.error({ job: id, err: (err as Error).message }, 'resuming a job failed') })
  }

  private onMessage (from: string, seq: number, msg: TrainingMessage): void {
    if (msg.type === 'job') {
      if (!this.jobs.has(msg.job.id)) {
        const job = this.addJob(msg.job)
        void this.persist(job)
        this.c.events.emit('training.job', { jobId: msg.job.id, dataset: msg.job.dataset, rounds: msg.job.rounds, creator: from })
      }
      return
    }
    const job = this.jobs.get(msg.jobId)
    if (job == null) return // a job we have not seen announced yet: its creator re-announces it
    if (msg.type === 'delta' && job.join != null && !job.left) this.work.prefetch(job, msg.round, msg.cid, from)
    void this.enqueue(job, { kind: 'message', from, seq, msg })
  }

  /** Feed one event to a job's machine, in order, then persist and carry out its actions. */
  private async enqueue (job: JobRuntime, event: JobEvent): Promise<void> {
    const run = async (): Promise<void> => {
      const actions = job.machine.handle(event, this.c.clock.now())
      if (event.kind !== 'tick') this.log.debug({ job: job.spec.id.slice(0, 12), event: event.kind, ...(event.kind === 'message' ? { type: event.msg.type, from: event.from.slice(-6) } : {}) }, 'training event')
      await this.carryOut(job, actions)
    }
    const p = job.queue.then(run)
    job.queue = p.catch(err => { this.log.error({ job: job.spec.id, err: (err as Error).message, event: event.kind }, 'training step failed') })
    await p
  }

  private async carryOut (job: JobRuntime, actions: JobAction[]): Promise<void> {
    await this.persist(job)
    for (const a of actions) {
      this.log.debug({ job: job.spec.id.slice(0, 12), action: a.kind, ...(a.kind === 'publish' ? { type: a.msg.type, round: (a.msg as { round?: number }).round, attempt: (a.msg as { attempt?: number }).attempt } : {}) }, 'training action')
      switch (a.kind) {
        case 'publish': await this.publish(a.msg).catch(err => { this.log.debug({ err: (err as Error).message }, 'training publish failed') }); break
        case 'train': this.background(job, async () => await this.work.train(job, a.round, a.baseModelCid)); break
        case 'aggregate': this.background(job, async () => await this.work.aggregate(job, a)); break
        case 'verify': this.background(job, async () => await this.work.verify(job, a.seal)); break
        case 'model-accepted': await this.accepted(job, a.round, a.modelCid, a.modelHash, a.seal); break
        case 'penalise':
          this.c.penalties?.penalise(a.peerId, a.reason.startsWith('equivocation') ? 5 : 2)
          this.metrics?.penalties.inc({ reason: a.reason })
          this.c.events.emit('training.penalty', { jobId: job.spec.id, peerId: a.peerId, reason: a.reason, round: a.round })
          this.log.info({ job: job.spec.id, peer: a.peerId, reason: a.reason }, 'peer penalised')
          break
        case 'job-finished':
          this.c.events.emit('training.finished', { jobId: job.spec.id, reason: a.reason, round: a.round, modelCid: a.modelCid })
          this.log.info({ job: job.spec.id, reason: a.reason, round: a.round }, 'training job finished')
          this.release(job) // after the model-accepted before it, which evaluated the last model
      }
    }
    this.schedule(job)
  }

  /** Long work (training, fetching, recomputing) runs outside the job's queue; its result comes back as an event. */
  private background (job: JobRuntime, work: () => Promise<JobEvent | JobEvent[] | undefined>): void {
    work().then(async ev => {
      for (const e of Array.isArray(ev) ? ev : ev == null ? [] : [ev]) await this.enqueue(job, e)
    }).catch(err => { this.log.warn({ job: job.spec.id, err: (err as Error).message }, 'training work failed') })
  }

  private schedule (job: JobRuntime): void {
    clearTimeout(job.timer)
    const at = job.machine.nextWakeAt()
    if (at == null || !this.started) return
    job.timer = setTimeout(() => { void this.enqueue(job, { kind: 'tick' }) }, Math.max(0, at - this.c.clock.now()) + 5)
    job.timer.unref()
  }

  private async persist (job: JobRuntime): Promise<void> {
    const value: Persisted = { spec: job.spec, join: job.join, left: job.left, reports: job.reports, snapshot: job.machine.snapshot() }
    await this.c.state.atomic([{ type: 'put', sublevel: SUB, key: job.spec.id, value: value as never }])
  }

  private async publish (msg: TrainingMessage): Promise<void> {
    await this.c.gossip.publish(TOPICS.training, await encodeTrainingMessage(this.c.privateKey, this.seq.next(), msg))
  }

  /** The creator keeps announcing unfinished jobs so peers that joined the mesh later learn them. */
  private reannounce (): void {
    for (const job of this.jobs.values()) {
      if (job.spec.creator === this.c.peerId && job.machine.view().phase !== 'finished') void this.publish({ type: 'job', job: job.spec }).catch(() => {})
    }
  }

  /** A seal was accepted: evaluate M_{r+1} on our held-out split and report the round. */
  private async accepted (job: JobRuntime, round: number, modelCid: string, hash: string, seal: RoundSeal): Promise<void> {
    const now = this.c.clock.now()
    const report: RoundReport = {
      round, accuracy: seal.metrics.accuracy, loss: seal.metrics.loss, f1: 0, precision: 0, recall: 0,
      participants: seal.deltas.length, bytesSent: job.bytes.sent, bytesReceived: job.bytes.received,
      durationMs: now - job.roundStartedAt, modelCid, modelHash: hash
    }
    job.bytes = { sent: 0, received: 0 }
    job.roundStartedAt = now
    const data = job.data
    if (data != null) {
      try {
        const e = await this.work.evaluate(job, modelCid, data)
        Object.assign(report, { accuracy: e.accuracy, loss: e.loss, f1: e.f1, precision: e.precision, recall: e.recall })
      } catch (err) {
        this.log.warn({ job: job.spec.id, round, err: (err as Error).message }, 'evaluating the accepted model failed')
      }
    }
    job.reports = [...job.reports.filter(r => r.round !== round), report].sort((a, b) => a.round - b.round)
    await this.persist(job)
    this.metrics?.rounds.inc({ result: 'accepted' })
    this.metrics?.accuracy.set(report.accuracy)
    this.metrics?.roundSeconds.set(report.durationMs / 1000)
    this.c.events.emit('training.round', { jobId: job.spec.id, ...report })
    this.log.info({ job: job.spec.id.slice(0, 12), round, accuracy: report.accuracy.toFixed(4), participants: report.participants, modelHash: hash.slice(0, 12) }, 'round accepted')
  }

  /** Drop what a finished job holds: local data, prefetched deltas and its tfjs model. */
  private release (job: JobRuntime): void {
    job.data = undefined
    job.prefetched.clear()
    // not awaited: the model waits for the tf mutex, which another job's training may hold for a while
    this.work.release(job).catch(err => { this.log.warn({ job: job.spec.id, err: (err as Error).message }, 'releasing the job\'s model failed') })
  }

  private view (job: JobRuntime): JobView {
    const v = job.machine.view()
    const last = job.reports.at(-1)
    // the machine finishes as it adopts the last seal; the job is finished here once that round is also reported
    const finished = v.phase === 'finished' && job.reports.some(r => r.round === v.round - 1)
    const status = finished ? 'finished' : job.left ? 'left' : job.join == null ? 'announced' : v.phase === 'waiting' ? 'joined' : 'running'
    return {
      id: job.spec.id,
      status,
      round: v.round,
      modelCid: v.baseModelCid,
      modelHash: last?.modelHash ?? null,
      phase: v.phase,
      participants: v.participants,
      attempt: v.attempt,
      aggregator: v.aggregator,
      joined: v.joined,
      finishedReason: finished ? job.machine.snapshot().state.finished?.reason ?? null : null,
      spec: job.spec,
      rounds: job.reports
    }
  }

}
