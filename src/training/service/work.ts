/**
 * The round work a node does for the machine's actions: local training with TensorFlow.js, storing and fetching
 * deltas and models through Helia, and the deterministic recomputation shared by the aggregator and every verifier.
 */
import { randomBytes } from 'node:crypto'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import type { Logger } from '../../common/logger.js'
import { MeshError } from '../../common/errors.js'
import { TrainingError } from '../errors.js'
import type { TrainingMetrics } from '../metrics.js'
import { computeDelta, modelHash } from '../core/delta.js'
import { decodeDelta, encodeDelta } from '../core/codec.js'
import type { Model } from '../model/build.js'
import { buildInitialModel } from '../model/init-build.js'
import type { EvalResult } from '../model/train.js'
import type { RoundSeal } from '../protocol/messages.js'
import { specHyperparams, type Hyperparams } from '../protocol/hyperparams.js'
import type { JobAction, JobEvent } from '../round/index.js'
import type { TrainingArtifacts } from './components.js'
import type { LocalData } from './local-data.js'
import { nextModel, screenDeltas, type FetchedDelta } from './recompute.js'
import { Mutex } from './mutex.js'
import { sampleBudget, trainingFootprintMB } from './budget.js'
import { corruptDelta, type Adversary } from './adversary.js'
import type { JobRuntime } from './runtime.js'

/** What the round work uses. */
export interface RoundWorkDeps {
  artifacts: TrainingArtifacts
  logger: Logger
  fetchTimeoutMs: number
  resources: { maxMemoryMB: number, dutyCycle: number, trainingThreads?: number }
  adversary?: Adversary
  /** The node's measured training speed (samples/s), for the work budget. */
  trainingSpeed?: () => number | undefined
  metrics?: Pick<TrainingMetrics, 'rejected' | 'bytes'>
  /** The hyperparameters a round trains with (the spec's, changed by accepted `hyperparams` proposals). */
  hyperparams?: (job: JobRuntime, round: number) => Hyperparams
}

/** Prefetched deltas kept per job at most (two rounds of the largest mesh a job allows is far below). */
const PREFETCH_LIMIT = 512
/** A delta whose prefetch failed is fetched once more for at least this long (the producer may have been restarting). */
const MIN_REFETCH_MS = 2000
/** Models up to this many parameters have every delta screened on arrival by every node (see `screenEarly`). */
const SCREEN_MAX_PARAMS = 4_000_000

/** TensorFlow.js and what builds on it, loaded on first use: a node that trains nothing never carries it (~60 MB). */
let tfParts: Promise<typeof import('../model/build.js') & typeof import('../model/train.js')> | undefined
async function tfjs (): Promise<typeof import('../model/build.js') & typeof import('../model/train.js')> {
  tfParts ??= Promise.all([import('../model/build.js'), import('../model/train.js')]).then(([build, train]) => ({ ...build, ...train }))
  return await tfParts
}

/** Training, storing, fetching and recomputing for the job machines' actions. */
export class RoundWork {
  /** TensorFlow.js runs one task at a time on a node. */
  private readonly tf = new Mutex()
  private readonly models = new Map<string, Model>()

  constructor (private readonly c: RoundWorkDeps) {}

  /** Free the tfjs models. */
  dispose (): void {
    for (const m of this.models.values()) m.dispose()
    this.models.clear()
  }

  /**
   * Free a finished job's tfjs model. Under the tf mutex so a task using it completes first; a later task
   * for the job builds it again.
   */
  async release (job: JobRuntime): Promise<void> {
    await this.tf.run(async () => {
      this.models.get(job.spec.id)?.dispose()
      this.models.delete(job.spec.id)
    })
  }

  /** Evaluate a model (by CID) on the job's held-out split. */
  async evaluate (job: JobRuntime, modelCid: string, data: LocalData): Promise<EvalResult> {
    const flat = await this.loadModelWeights(job, modelCid)
    const { modelWeightsManifest, setFlatWeights, evaluate } = await tfjs()
    return await this.tf.run(async () => {
      const model = await this.model(job)
      setFlatWeights(model, modelWeightsManifest(model), flat)
      return evaluate(model, data.test)
    })
  }

  /** Evaluate a model (by CID) on any labelled data: accuracy, loss, macro P/R/F1, the confusion matrix. */
  async evaluateOn (job: JobRuntime, modelCid: string, data: LocalData['test']): Promise<EvalResult> {
    return await this.withModel(job, modelCid, async (model, t) => t.evaluate(model, data))
  }

  /** Class probabilities (`[rows, outputs]`, row-major) of a model (by CID) for rows already scaled like its data. */
  async predict (job: JobRuntime, modelCid: string, x: Float32Array): Promise<{ probabilities: Float32Array, outputs: number }> {
    return await this.withModel(job, modelCid, async (model, t) => {
      const features = job.inputShape.reduce((a, b) => a * b, 1)
      return { probabilities: t.predictProba(model, x, features), outputs: t.modelIo(model).outputs }
    })
  }

  /** A model (by CID) as TensorFlow.js layers-model files (see model/export.ts). */
  async exportLayers (job: JobRuntime, modelCid: string): Promise<import('../model/export.js').LayersModelFiles> {
    const { exportLayersModel } = await import('../model/export.js')
    return await this.withModel(job, modelCid, async model => await exportLayersModel(model))
  }

  /** Run `fn` on the job's tfjs model holding the weights of `modelCid`, under the tf mutex. */
  private async withModel<T> (job: JobRuntime, modelCid: string, fn: (model: Model, t: Awaited<ReturnType<typeof tfjs>>) => Promise<T>): Promise<T> {
    const flat = await this.loadModelWeights(job, modelCid)
    const t = await tfjs()
    return await this.tf.run(async () => {
      const model = await this.model(job)
      t.setFlatWeights(model, t.modelWeightsManifest(model), flat)
      return await fn(model, t)
    })
  }

  /** Fetch an artifact of the job; `from` names a peer that holds it (a delta's producer). */
  private async fetch (job: JobRuntime, cid: string, maxBytes: number, from?: string, timeoutMs = this.c.fetchTimeoutMs): Promise<Uint8Array> {
    const local = (await this.c.artifacts.meta(cid))?.local === true
    const started = performance.now()
    const bytes = await this.c.artifacts.cat(cid, { timeoutMs, maxBytes, providers: from != null ? [from] : undefined })
    this.c.logger.debug({ job: job.spec.id, cid, from, local, bytes: bytes.byteLength, ms: Math.round(performance.now() - started) }, 'artifact fetched')
    if (!local) { job.bytes.received += bytes.byteLength; this.c.metrics?.bytes.inc({ direction: 'received' }, bytes.byteLength) }
    return bytes
  }

  private maxModelBytes (job: JobRuntime): number {
    return 64 + job.params * 4
  }

  async loadModelWeights (job: JobRuntime, cid: string): Promise<Float32Array> {
    const bytes = await this.fetch(job, cid, this.maxModelBytes(job))
    const flat = decodeDelta(bytes, { maxElements: job.params })
    if (flat.length !== job.params) throw new TrainingError('ERR_SHAPE', `model ${cid} has ${flat.length} parameters, expected ${job.params}`)
    return flat
  }

  /**
   * Store a model. Only the aggregator announces it: every verifier stores the same bytes (same CID), and ten
   * announcements and DHT provides of one model per round would be pure overhead.
   */
  async storeModel (job: JobRuntime, round: number, flat: Float32Array, announce: boolean): Promise<string> {
    const info = await this.c.artifacts.add(encodeDelta(flat, { kind: 'fp32' }), { name: `model-${job.spec.id.slice(0, 12)}-r${round}`, kind: 'model', job: job.spec.id, round, mediaType: 'application/vnd.meshnode.weights', announce })
    return info.cid
  }

  private async model (job: JobRuntime): Promise<Model> {
    let m = this.models.get(job.spec.id)
    if (m == null) {
      // tfjs loads on the first job this node trains or verifies, with the profile's thread cap
      const { initBackend, setThreads } = await import('../model/backend.js')
      if (this.c.resources.trainingThreads != null) setThreads(this.c.resources.trainingThreads)
      await initBackend('auto', { logger: this.c.logger })
      m = await (await tfjs()).buildModel(job.spec.model, { features: job.inputShape.reduce((a, b) => a * b, 1), shape: job.inputShape })
      this.models.set(job.spec.id, m)
    }
    return m
  }

  /**
   * The initial model must be exactly what the spec's seed builds (or, for a warm start, the model whose hash the
   * signed spec names): nobody can slip in other weights at round 0.
   */
  async checkInitialModel (job: JobRuntime): Promise<void> {
    const flat = await this.loadModelWeights(job, job.spec.initialModelCid)
    if (job.spec.warmStart != null) {
      if (modelHash(flat) !== job.spec.warmStart.modelHash) throw new TrainingError('ERR_JOB', 'the job\'s warm-start model does not match the hash its spec names')
      return
    }
    // built off the event loop for a large model (see buildInitialModel)
    const expected = (await buildInitialModel(job.spec.model, job.inputShape)).hash
    if (modelHash(flat) !== expected) throw new TrainingError('ERR_JOB', 'the job\'s initial model does not match its model spec and seed')
  }

  /** Refuse a job whose training footprint exceeds the profile's memory cap. */
  checkMemory (job: JobRuntime, data: LocalData): void {
    const mb = trainingFootprintMB(job.params, data.train.x.byteLength + data.test.x.byteLength)
    if (mb > this.c.resources.maxMemoryMB) {
      throw new TrainingError('ERR_JOB', `the job needs about ${Math.ceil(mb)} MB, over this node's profile cap of ${this.c.resources.maxMemoryMB} MB`)
    }
  }

  /** Samples per round this node can afford (see `sampleBudget`). */
  private workBudget (job: JobRuntime, hp: Hyperparams): number | undefined {
    return sampleBudget({ samplesPerSec: this.c.trainingSpeed?.(), capMs: job.spec.timing.capMs, dutyCycle: this.c.resources.dutyCycle, localEpochs: hp.localEpochs, batchSize: hp.batchSize })
  }

  async train (job: JobRuntime, round: number, baseModelCid: string): Promise<JobEvent | undefined> {
    const data = job.data
    if (data == null) return undefined
    const base = await this.loadModelWeights(job, baseModelCid)
    // read per round: an accepted hyperparams proposal changes them from its first round on
    const hp = this.c.hyperparams?.(job, round) ?? specHyperparams(job.spec)
    const { getFlatWeights, modelWeightsManifest, setFlatWeights, trainLocal, evaluate } = await tfjs()
    const result = await this.tf.run(async () => {
      const model = await this.model(job)
      setFlatWeights(model, modelWeightsManifest(model), base)
      // the announced metrics are this node's evaluation of the global model it starts from (M_round, accepted), on
      // its held-out split: the seal's figure, and so the job's target, is then about the model users get, not about
      // each node's locally trained one (issue 11, defect 2)
      const baseEval = evaluate(model, data.test)
      const r = await trainLocal(model, data.train, {
        epochs: hp.localEpochs,
        batchSize: hp.batchSize,
        learningRate: hp.learningRate,
        seed: job.spec.model.seed * 100_003 + round,
        maxSamples: this.workBudget(job, hp)
      })
      // a non-finite evaluation loss (a diverged model) is not announced: peers would refuse the delta for it
      return { ...r, local: getFlatWeights(model).flat, accuracy: baseEval.accuracy, loss: Number.isFinite(baseEval.loss) ? baseEval.loss : r.loss }
    })
    const delta = computeDelta(result.local, base)
    const bytes = this.c.adversary != null && this.c.adversary.kind !== 'wrong-seal'
      ? corruptDelta(this.c.adversary, delta, job.spec.compression)
      : job.topk != null ? job.topk.compress(delta) : encodeDelta(delta, job.spec.compression)
    if (bytes == null) {
      // the 'unfetchable' adversary announces a CID whose bytes nobody stores
      const cid = CID.createV1(raw.code, await sha256.digest(randomBytes(32))).toString()
      return { kind: 'local-delta-ready', round, baseModelCid, cid, samples: result.samples, bytes: 4 * job.params, metrics: { loss: result.loss, accuracy: result.accuracy } }
    }
    // not announced: the signed DeltaAnnounce on the training topic names it and its producer, whom readers dial
    const info = await this.c.artifacts.add(bytes, { name: `delta-${job.spec.id.slice(0, 12)}-r${round}`, kind: 'delta', job: job.spec.id, round, mediaType: 'application/vnd.meshnode.delta', announce: false })
    job.bytes.sent += bytes.byteLength
    this.c.metrics?.bytes.inc({ direction: 'sent' }, bytes.byteLength)
    this.c.logger.debug({ job: job.spec.id, round, samples: result.samples, ms: Math.round(result.durationMs) }, 'local training done')
    return { kind: 'local-delta-ready', round, baseModelCid, cid: info.cid, samples: result.samples, bytes: bytes.byteLength, metrics: { loss: result.loss, accuracy: result.accuracy } }
  }

  private maxDeltaBytes (job: JobRuntime): number {
    return 64 + job.params * 8
  }

  /**
   * Start fetching an announced delta at once, so that the aggregator and every verifier already hold the round's
   * deltas when it closes (fetching them only then made each round wait for ten transfers, twice). Deltas of rounds
   * already behind us are forgotten; at most a few rounds' worth is kept.
   */
  prefetch (job: JobRuntime, round: number, cid: string, from: string): Promise<JobEvent | undefined> {
    const { round: current, participants } = job.machine.view()
    if (round < current || round > current + 1 || job.prefetched.has(cid)) return Promise.resolve(undefined)
    // held in memory until the round is sealed: only participants' deltas, one per peer and round (an equivocating
    // or unknown announcer must not make us buffer more; the real fetch still reads whatever the seal lists)
    if (!participants.includes(from)) return Promise.resolve(undefined)
    for (const [k, v] of job.prefetched) if (v.round < current) job.prefetched.delete(k)
    if (job.prefetched.size >= PREFETCH_LIMIT) return Promise.resolve(undefined)
    for (const v of job.prefetched.values()) if (v.from === from && v.round === round) return Promise.resolve(undefined)
    const bytes = this.fetch(job, cid, this.maxDeltaBytes(job), from)
    bytes.catch(() => {}) // a failed prefetch is retried by the real fetch, for what is left of one fetch timeout
    job.prefetched.set(cid, { round, from, bytes, startedAt: performance.now() })
    return this.screenEarly(job, round, cid, from, bytes)
  }

  /**
   * Screen a prefetched delta as soon as its bytes are here, so that every node, not only the round's aggregator,
   * refuses (and penalises) a malformed delta: the sender's gossipsub score drops on every honest node. Only what the
   * bytes prove counts (undecodable, wrong shape, NaN/Inf, over the size limit: the same bytes under the same CID
   * everywhere); a fetch that merely failed may be the network's fault and is left to the aggregator. Costs one extra
   * decode per delta, so only models up to SCREEN_MAX_PARAMS are screened early.
   */
  private async screenEarly (job: JobRuntime, round: number, cid: string, from: string, bytes: Promise<Uint8Array>): Promise<JobEvent | undefined> {
    let got: Uint8Array
    try {
      got = await bytes
    } catch (err) {
      if (!(err instanceof MeshError) || err.code !== 'ERR_TOO_LARGE') return undefined
      this.c.metrics?.rejected.inc({ code: err.code })
      return { kind: 'delta-invalid', round, cid, peerId: from, reason: `${err.code}: ${err.message}` }
    }
    if (job.params > SCREEN_MAX_PARAMS) return undefined
    const { rejected } = screenDeltas([{ cid, peerId: from, samples: 1, bytes: got }], job.params)
    const r = rejected[0]
    if (r == null) return undefined
    this.c.metrics?.rejected.inc({ code: r.code })
    return { kind: 'delta-invalid', round, cid, peerId: from, reason: `${r.code}: ${r.reason}` }
  }

  /**
   * Fetch a round's listed deltas. One we cannot fetch in time is `delta-unavailable` (the network's fault as likely as
   * its producer's), one whose size alone refutes it `delta-invalid`.
   */
  private async fetchDeltas (job: JobRuntime, round: number, deltas: Array<{ cid: string, peerId: string, samples: number }>): Promise<{ fetched: FetchedDelta[], events: JobEvent[] }> {
    const maxBytes = this.maxDeltaBytes(job)
    const events: JobEvent[] = []
    const fetched: FetchedDelta[] = []
    await Promise.all(deltas.map(async d => {
      try {
        const pre = job.prefetched.get(d.cid)
        const early = await pre?.bytes.catch(() => undefined)
        // a prefetch that failed while we waited on it already spent time on this delta: the retry gets what is left
        // of one fetch timeout (a dead producer cost two full timeouts, stalling the round's seal as long)
        const timeoutMs = pre === undefined ? undefined : Math.min(this.c.fetchTimeoutMs, Math.max(MIN_REFETCH_MS, this.c.fetchTimeoutMs - (performance.now() - pre.startedAt)))
        fetched.push({ ...d, bytes: early ?? await this.fetch(job, d.cid, maxBytes, d.peerId, timeoutMs) })
      } catch (err) {
        // the next verification of a seal listing it (a re-proposal) gets a full timeout again
        job.prefetched.delete(d.cid)
        const code = err instanceof MeshError ? err.code : 'ERR_FETCH'
        this.c.metrics?.rejected.inc({ code })
        const kind = code === 'ERR_TOO_LARGE' ? 'delta-invalid' : 'delta-unavailable'
        events.push({ kind, round, cid: d.cid, peerId: d.peerId, reason: `${code}: fetch failed: ${(err as Error).message}` })
      }
    }))
    return { fetched, events }
  }

  /** Screen fetched deltas and compute M_{r+1}; every refusal becomes a delta-invalid or delta-unavailable event. */
  private async recompute (job: JobRuntime, round: number, baseCid: string, deltas: Array<{ cid: string, peerId: string, samples: number }>): Promise<{ next?: Float32Array, events: JobEvent[] }> {
    const base = await this.loadModelWeights(job, baseCid)
    const { fetched, events } = await this.fetchDeltas(job, round, deltas)
    const { usable, rejected } = screenDeltas(fetched, job.params)
    for (const r of rejected) {
      this.c.metrics?.rejected.inc({ code: r.code })
      events.push({ kind: 'delta-invalid', round, cid: r.cid, peerId: r.peerId, reason: `${r.code}: ${r.reason}` })
    }
    if (events.length > 0) return { events }
    return { next: nextModel(job.spec, base, usable), events }
  }

  async aggregate (job: JobRuntime, a: Extract<JobAction, { kind: 'aggregate' }>): Promise<JobEvent[]> {
    const { next, events } = await this.recompute(job, a.round, a.baseModelCid, a.deltas)
    if (next == null) return events
    // the 'wrong-seal' adversary seals a perturbed aggregate of honest deltas: every verifier recomputes another model
    if (this.c.adversary?.kind === 'wrong-seal') next[0] += 0.25
    const aggregateCid = await this.storeModel(job, a.round + 1, next, true)
    return [{ kind: 'aggregate-computed', round: a.round, attempt: a.attempt, aggregateCid, modelHash: modelHash(next), deltas: a.deltas.map(d => d.cid) }]
  }

  async verify (job: JobRuntime, seal: RoundSeal): Promise<JobEvent[]> {
    let result
    try {
      result = await this.recompute(job, seal.round, seal.baseModelCid, seal.deltas)
    } catch (err) {
      return [{ kind: 'seal-verified', round: seal.round, attempt: seal.attempt, aggregateCid: seal.aggregateCid, ok: false, reason: 'unavailable' }]
    }
    if (result.next == null) {
      // only a delta proven invalid is a verdict on the aggregate; one we merely failed to fetch is tried again later
      const reason = result.events.some(e => e.kind === 'delta-invalid') ? 'invalid-delta' : 'unavailable'
      return [...result.events, { kind: 'seal-verified', round: seal.round, attempt: seal.attempt, aggregateCid: seal.aggregateCid, ok: false, reason }]
    }
    const cid = await this.storeModel(job, seal.round + 1, result.next, false)
    const ok = modelHash(result.next) === seal.modelHash && cid === seal.aggregateCid
    return [{ kind: 'seal-verified', round: seal.round, attempt: seal.attempt, aggregateCid: seal.aggregateCid, ok, reason: ok ? undefined : 'mismatch' }]
  }
}
