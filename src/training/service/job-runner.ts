/**
 * The job runner: one round machine per job, fed in order. It receives the training topic's messages, persists each
 * machine's snapshot after every step (a crash resumes where it stopped), wakes machines on their timers, and
 * carries out their actions: gossip, penalties, training and verification (RoundWork), and round reports.
 */
import type { Logger } from '../../common/logger.js'
import { ReplayGuard, SeqSource } from '../../protocols/replay.js'
import { TopKCompressor } from '../core/topk-compressor.js'
import { manifestSize } from '../core/tensors.js'
import type { DatasetStore } from '../data/index.js'
import { modelManifest, resolveInputShape } from '../model/spec.js'
import type { JobSpec, SealVotingMode } from '../protocol/job-schema.js'
import { stopIssue } from '../protocol/checks.js'
import type { JobStop, TrainingMessage } from '../protocol/messages.js'
import { encodeTrainingMessage, validateTrainingGossip } from '../protocol/record.js'
import type { JoinJobRequest } from '../protocol/requests.js'
import { TRAINING_TOPIC } from '../protocol/topic.js'
import { JobMachine, type JobAction, type JobEvent, type JobMachineSnapshot, type PenaltyReason } from '../round/index.js'
import type { RoundReport } from './api-types.js'
import type { TrainingServiceComponents } from './components.js'
import { localData } from './local-data.js'
import { targetRound } from './pooled.js'
import type { RoundReports } from './reports.js'
import type { JobRuntime } from './runtime.js'
import type { RoundWork } from './work.js'
import type { RewardsBridge } from './rewards.js'
import type { SealVoting } from './seal-voting.js'

const SUB = 'training'

/** Penalty points per reason: provable misbehaviour costs most, a delta we merely failed to fetch least. */
const PENALTY_POINTS: Record<PenaltyReason, number> = {
  'equivocation-delta': 5,
  'equivocation-seal': 5,
  'equivocation-vote': 5,
  'invalid-delta': 2,
  'bad-seal': 2,
  'unavailable-delta': 1
}

/** What a job keeps across restarts. */
interface Persisted { spec: JobSpec, join?: JoinJobRequest, left?: boolean, stopped?: JobRuntime['stopped'], reports: RoundReport[], snapshot: JobMachineSnapshot }

/** What the runner uses: the service's own components (less the artifact store) and its work, reports and data. */
export interface JobRunnerComponents extends Omit<TrainingServiceComponents, 'artifacts' | 'trainingSpeed' | 'rewards'> {
  work: RoundWork
  /** Rewarded jobs: told of payee and voucher messages and of each accepted round. */
  rewards?: RewardsBridge
  reports: RoundReports
  datasets: DatasetStore
  /** Seals through consensus (jobs whose `sealVoting` is 'consensus'): proposes our seals, mirrors our votes, accepts by QC. */
  seals?: SealVoting
}

/** The runner's options; `sealVoting`: the mode of jobs whose spec names none. */
export interface JobRunnerInit { announceIntervalMs: number, recordMaxAgeMs: number, recordMaxSkewMs: number, sealVoting: SealVotingMode }

/** Runs every job this node knows. */
export class JobRunner {
  private readonly jobs = new Map<string, JobRuntime>()
  /** The (round, attempt) whose stall we last logged, per job. */
  private readonly stalls = new Map<string, string>()
  /** Seal proposals and votes to consensus, in order, off the jobs' queues (signing and gossip take a while). */
  private consensusQueue: Promise<void> = Promise.resolve()
  private readonly guard: ReplayGuard
  private readonly seq: SeqSource
  private readonly log: Logger
  private announceTimer?: NodeJS.Timeout
  private started = false

  constructor (private readonly c: JobRunnerComponents, private readonly init: JobRunnerInit) {
    this.log = c.logger
    this.guard = new ReplayGuard(c.clock, { maxAgeMs: init.recordMaxAgeMs, maxSkewMs: init.recordMaxSkewMs })
    this.seq = new SeqSource(c.clock)
  }

  /** Resume persisted jobs, listen on the training topic, and keep re-announcing our own jobs. */
  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    for await (const [id, value] of this.c.state.sublevel<Persisted>(SUB).iterator()) {
      try { this.restore(id, value) } catch (err) { this.log.warn({ job: id, err: (err as Error).message }, 'cannot restore training job') }
    }
    this.c.gossip.register({
      topic: TRAINING_TOPIC,
      validate: async (data, ctx) => await validateTrainingGossip(data, ctx.propagationSource, this.guard),
      deliver: rec => { this.onMessage(rec.signer, rec.seq, rec.payload) }
    })
    this.announceTimer = setInterval(() => { this.reannounce() }, this.init.announceIntervalMs)
    this.announceTimer.unref()
  }

  /** Stop the timers and let queued steps finish. */
  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    clearInterval(this.announceTimer)
    for (const job of this.jobs.values()) clearTimeout(job.timer)
    await Promise.allSettled([...this.jobs.values()].map(async j => await j.queue))
  }

  /** A job by id. */
  get (id: string): JobRuntime | undefined {
    return this.jobs.get(id)
  }

  /** Every job. */
  all (): JobRuntime[] {
    return [...this.jobs.values()]
  }

  /** Run a job created here: persist it, then announce it. */
  async announce (spec: JobSpec): Promise<void> {
    const job = this.add(spec)
    await this.persist(job)
    await this.publish({ type: 'job', job: spec })
  }

  /** Feed one event to a job's machine, in order, then persist and carry out its actions. */
  async enqueue (job: JobRuntime, event: JobEvent): Promise<void> {
    const run = async (): Promise<void> => {
      if (job.stopped != null) return // a stopped job's machine takes no more events

      const actions = job.machine.handle(event, this.c.clock.now())
      if (event.kind !== 'tick') this.log.debug({ job: job.spec.id.slice(0, 12), event: event.kind, ...(event.kind === 'message' ? { type: event.msg.type, from: event.from.slice(-6) } : {}) }, 'training event')
      await this.carryOut(job, actions)
    }
    const p = job.queue.then(run)
    job.queue = p.catch(err => { this.log.error({ job: job.spec.id, err: (err as Error).message, event: event.kind }, 'training step failed') })
    await p
  }

  /** The consensus bridge when the job's seals go through consensus: as its spec says, else as this node is set. */
  private sealsOf (spec: JobSpec): SealVoting | undefined {
    return (spec.sealVoting ?? this.init.sealVoting) === 'consensus' ? this.c.seals : undefined
  }

  private add (spec: JobSpec, snapshot?: JobMachineSnapshot): JobRuntime {
    const inputShape = resolveInputShape(spec.model)
    // sized from the spec alone: a gossiped spec may describe up to 50M parameters
    const params = manifestSize(modelManifest(spec.model, inputShape))
    const seals = this.sealsOf(spec)
    const machine = new JobMachine({ self: this.c.peerId, job: spec, ...(seals != null ? { acceptance: seals.acceptance() } : {}) })
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
    const job = this.add(p.spec, p.snapshot)
    job.join = p.join
    job.left = p.left === true
    job.reports = p.reports
    job.stopped = p.stopped
    if (job.stopped != null) return
    job.queue = job.queue.then(async () => {
      // a finished job trains and evaluates nothing more
      if (job.join != null && !job.left && job.machine.view().phase !== 'finished') job.data = await localData(job.join, this.c.datasets)
      // killed after persisting the step that adopted a seal but before carrying out its outcome: do it now
      const outcome = job.machine.lastOutcome()
      const adopted = outcome.find(a => a.kind === 'model-accepted')
      if (adopted != null && !job.reports.some(r => r.round === adopted.round)) {
        this.log.info({ job: id, round: adopted.round }, 'replaying the outcome of a round adopted before the restart')
        await this.carryOut(job, outcome)
      }
      this.remirror(job)
      await this.carryOut(job, job.machine.resume(this.c.clock.now()))
    }).catch(err => { this.log.error({ job: id, err: (err as Error).message }, 'resuming a job failed') })
  }

  private onMessage (from: string, seq: number, msg: TrainingMessage): void {
    if (msg.type === 'job') {
      if (!this.jobs.has(msg.job.id)) {
        const job = this.add(msg.job)
        void this.persist(job)
        this.c.events.emit('training.job', { jobId: msg.job.id, dataset: msg.job.dataset, rounds: msg.job.rounds, creator: from })
      }
      return
    }
    const job = this.jobs.get(msg.jobId)
    if (job == null) return // a job we have not seen announced yet: its creator re-announces it
    if (msg.type === 'stop') { void this.onStop(job, from, msg); return }
    if (msg.type === 'eval') {
      // a peer's evaluation of an accepted model: pooled into that round's report (persisted with the next step)
      if (this.c.reports.addEvaluation(job, from, msg)) {
        void this.persist(job).catch(() => {})
        this.checkTarget(job)
      }
      return
    }
    if (msg.type === 'payee' || msg.type === 'voucher') { this.c.rewards?.onMessage(job, from, msg); return }
    if (job.stopped != null) return
    if (msg.type === 'delta' && job.join != null && !job.left) {
      const work = this.c.work
      // queued after the delta itself (below), so the machine knows the delta it is told is invalid
      this.background(job, async () => await work.prefetch(job, msg.round, msg.cid, from))
    }
    if (msg.type === 'seal') this.sealsOf(job.spec)?.noteSeal(msg)
    if (msg.type === 'electorate' && from === job.spec.creator && msg.round === job.machine.view().round && !job.machine.electorateRecords().some(x => x.round === msg.round)) this.log.info({ job: job.spec.id, round: msg.round, fromAttempt: msg.fromAttempt, electorate: msg.electorate }, 'the job\'s creator reduced the round\'s electorate to its live half')
    void this.enqueue(job, { kind: 'message', from, seq, msg })
  }

  private async carryOut (job: JobRuntime, actions: JobAction[]): Promise<void> {
    await this.persist(job)
    const work = this.c.work
    for (const a of actions) {
      this.log.debug({ job: job.spec.id.slice(0, 12), action: a.kind, ...(a.kind === 'publish' ? { type: a.msg.type, round: (a.msg as { round?: number }).round, attempt: (a.msg as { attempt?: number }).attempt } : {}) }, 'training action')
      switch (a.kind) {
        case 'publish':
          if (a.msg.type === 'electorate') this.log.info({ job: job.spec.id, round: a.msg.round, fromAttempt: a.msg.fromAttempt, electorate: a.msg.electorate }, 'half of the round\'s electorate is gone: as the job\'s creator, naming the live half the electorate')
          await this.publish(a.msg).catch(err => { this.log.debug({ err: (err as Error).message }, 'training publish failed') })
          this.toConsensus(job, a.msg)
          break
        case 'train': this.background(job, async () => await work.train(job, a.round, a.baseModelCid)); break
        case 'aggregate': this.background(job, async () => await work.aggregate(job, a)); break
        case 'verify': this.background(job, async () => await work.verify(job, a.seal)); break
        case 'model-accepted': {
          const report = await this.c.reports.measure(job, a.round, a.modelCid, a.modelHash, a.seal, a.aggregator)
          await this.persist(job)
          this.c.reports.announce(job, report)
          this.checkTarget(job)
          this.c.rewards?.onRound(job)
          break
        }
        case 'penalise':
          this.c.penalties?.penalise(a.peerId, PENALTY_POINTS[a.reason])
          this.c.metrics?.penalties.inc({ reason: a.reason })
          this.c.events.emit('training.penalty', { jobId: job.spec.id, peerId: a.peerId, reason: a.reason, round: a.round })
          this.log.info({ job: job.spec.id, peer: a.peerId, reason: a.reason }, 'peer penalised')
          break
        case 'job-finished':
          this.c.events.emit('training.finished', { jobId: job.spec.id, reason: a.reason, round: a.round, modelCid: a.modelCid })
          this.log.info({ job: job.spec.id, reason: a.reason, round: a.round }, 'training job finished')
          this.release(job) // after the model-accepted before it, which evaluated the last model
          this.c.rewards?.onRound(job)
      }
    }
    this.logStall(job)
    this.schedule(job)
  }

  /**
   * After a restart, where seals go through consensus. A step is persisted before its actions run, so a node killed in
   * between published a seal or a vote that consensus never got, and the bridge's memory (the seals seen, the ballots
   * our votes became) died with the process: a vote on a seal restored from the snapshot would have been cast as no.
   * Tell the bridge the seals the machine holds, and hand it again our seals and votes of the round in progress; it
   * proposes only what consensus holds no proposal of, and a vote already cast is not cast again.
   */
  private remirror (job: JobRuntime): void {
    const seals = this.sealsOf(job.spec)
    if (seals == null) return
    const { seals: held, round, ownVotes } = job.machine.held()
    for (const e of held) seals.noteSeal(e.seal)
    // copies: the consensus queue reads them later, and the machine's own objects are not ours to hold
    for (const e of held) if (e.from === this.c.peerId && e.seal.round === round) this.toConsensus(job, structuredClone(e.seal))
    for (const v of ownVotes) this.toConsensus(job, structuredClone(v))
  }

  /** Our seals become proposals and our votes consensus votes (in order: a seal is proposed before our vote on it). */
  private toConsensus (job: JobRuntime, msg: TrainingMessage): void {
    const seals = this.sealsOf(job.spec)
    if (seals == null || (msg.type !== 'seal' && msg.type !== 'vote')) return
    // the machine's round and electorate as of this step (the queue below runs later)
    const v = job.machine.view()
    const reduced = job.machine.reducedElectorate()
    const at = { round: v.round, electorate: v.electorate, sealTimeoutMs: job.spec.timing.sealTimeoutMs, ...(reduced != null ? { reduced } : {}) }
    const step = msg.type === 'seal' ? async () => { await seals.onOwnSeal(msg, at) } : async () => { await seals.onOwnVote(msg, at) }
    this.consensusQueue = this.consensusQueue.then(step).catch(err => { this.log.warn({ err: (err as Error).message }, 'seal voting failed') })
  }

  /**
   * A round that needs another attempt is stalling: say at info level, once per attempt, what it waits for (whose
   * promises, seal or votes; which electorate members look gone), so an operator can tell why a job does not move.
   * Through consensus, also ask for a sync: the round's QC may exist where this node was not listening.
   */
  private logStall (job: JobRuntime): void {
    const v = job.machine.view()
    if (v.phase !== 'sealing' || v.attempt < 1) return
    const key = `${v.round}/${v.attempt}`
    if (this.stalls.get(job.spec.id) === key) return
    this.stalls.set(job.spec.id, key)
    this.sealsOf(job.spec)?.stalled(job.spec.id, v.round)
    const s = job.machine.stall()
    if (s == null) return
    this.log.info({ job: job.spec.id, round: s.round, attempt: s.attempt, aggregator: s.aggregator, electorate: s.electorate, promised: s.promised, silent: s.silent, promisedAttempts: s.promisedAttempts, deltas: s.usableDeltas, lock: s.lock }, `round ${s.round} needs attempt ${s.attempt}: ${s.reason}`)
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
    if (!this.jobs.has(job.spec.id)) return // forgotten
    const value: Persisted = { spec: job.spec, join: job.join, left: job.left, stopped: job.stopped, reports: job.reports, snapshot: job.machine.snapshot() }
    await this.c.state.sublevel<Persisted>(SUB).put(job.spec.id, value)
  }

  private async publish (msg: TrainingMessage): Promise<void> {
    await this.c.gossip.publish(TRAINING_TOPIC, await encodeTrainingMessage(this.c.privateKey, this.seq.next(), msg))
  }

  /** The creator keeps announcing unfinished jobs so peers that joined the mesh later learn them. */
  private reannounce (): void {
    for (const job of this.jobs.values()) {
      if (job.spec.creator !== this.c.peerId) continue
      // a stopped job's stop is repeated instead, so a node that missed it (offline, restarting) still stops
      const msg: TrainingMessage | undefined = job.stopped != null ? { type: 'stop', jobId: job.spec.id, round: job.stopped.round, reason: job.stopped.reason } : job.machine.view().phase !== 'finished' ? { type: 'job', job: job.spec } : undefined
      if (msg != null) void this.publish(msg).catch(() => {})
      // electorate records too: a node that missed one (or was away) cannot accept the rounds sealed under it
      if (job.stopped == null) for (const rec of job.machine.electorateRecords()) void this.publish(rec).catch(() => {})
    }
  }

  /**
   * The creator ends its job at the target on the job's one figure: once every contributor of an accepted round has
   * reported its evaluation and the pooled accuracy reaches the target, it stops the job for the mesh with reason
   * `target` (every node then shows it finished). This is the only target check: the round machine does not judge it.
   */
  private checkTarget (job: JobRuntime): void {
    const target = job.spec.target?.value
    if (target == null || job.spec.creator !== this.c.peerId || job.stopped != null || job.machine.view().phase === 'finished') return
    const hit = targetRound(job.reports, target)
    if (hit == null) return
    this.log.info({ job: job.spec.id, round: hit.round, accuracy: hit.pooled?.accuracy }, 'the pooled accuracy reached the target: stopping the job')
    void this.stopJob(job, 'target').catch(err => { this.log.warn({ job: job.spec.id, err: (err as Error).message }, 'stopping at the target failed') })
  }

  /** Sign and publish a training message (the round reports' evaluations). */
  async send (msg: TrainingMessage): Promise<void> {
    await this.publish(msg)
  }

  /** The creator stops a job for the whole mesh: sign and publish the stop, then apply it here. */
  async stopJob (job: JobRuntime, reason?: string): Promise<void> {
    const msg: JobStop = { type: 'stop', jobId: job.spec.id, round: job.machine.view().round, ...(reason != null ? { reason } : {}) }
    await this.applyStop(job, msg)
    await this.publish(msg).catch(err => { this.log.warn({ job: job.spec.id, err: (err as Error).message }, 'publishing the stop failed; it is repeated with the announcements') })
  }

  private async onStop (job: JobRuntime, from: string, msg: JobStop): Promise<void> {
    const issue = stopIssue(job.spec, msg, from)
    if (issue !== undefined) { this.log.debug({ job: job.spec.id, from, issue }, 'stop ignored'); return }
    await this.applyStop(job, msg).catch(err => { this.log.error({ job: job.spec.id, err: (err as Error).message }, 'stopping a job failed') })
  }

  /** Stop the job's machine after the step in progress, persist it as stopped and free what it holds. */
  private async applyStop (job: JobRuntime, msg: JobStop): Promise<void> {
    if (job.stopped != null) return
    job.stopped = { round: msg.round, at: this.c.clock.now(), ...(msg.reason != null ? { reason: msg.reason } : {}) }
    clearTimeout(job.timer)
    await job.queue
    clearTimeout(job.timer)
    await this.persist(job)
    this.c.events.emit('training.stopped', { jobId: job.spec.id, round: job.machine.view().round, by: job.spec.creator, ...(msg.reason != null ? { reason: msg.reason } : {}) })
    this.log.info({ job: job.spec.id, round: job.machine.view().round }, 'training job stopped by its creator')
    this.release(job)
  }

  /** Forget a job here: it leaves the list and the state store (a later announcement of it is taken as new). */
  async forget (job: JobRuntime): Promise<void> {
    this.jobs.delete(job.spec.id)
    clearTimeout(job.timer)
    await job.queue
    clearTimeout(job.timer)
    await this.c.state.sublevel<Persisted>(SUB).del(job.spec.id)
    this.release(job)
  }

  /** Drop what a finished job holds: local data, prefetched deltas and its tfjs model. */
  private release (job: JobRuntime): void {
    job.data = undefined
    job.prefetched.clear()
    // not awaited: the model waits for the tf mutex, which another job's training may hold for a while
    this.c.work.release(job).catch(err => { this.log.warn({ job: job.spec.id, err: (err as Error).message }, 'releasing the job\'s model failed') })
  }
}
