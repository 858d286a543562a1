/**
 * Semantic checks of a schema-valid training message: numeric bounds, CIDs, seal ordering, job id and creator.
 * Pure; throws GossipValidationError('reject', code, ...) with codes ERR_BOUNDS, ERR_CID, ERR_ORDER, ERR_DUPLICATE,
 * ERR_JOB_ID, ERR_SIGNER.
 */
import { CID } from 'multiformats/cid'
import { GossipValidationError } from '../../common/errors.js'
import { TrainingError } from '../errors.js'
import { compareIds } from '../core/aggregate.js'
import { validateModelSpec, weightPlan } from '../model/spec.js'
import { jobIdOf } from './job-id.js'
import { TRAINING_LIMITS as L, type JobSpec, type TrainingMessage, type TrainingMetrics } from './messages.js'

function reject (code: string, message: string): never {
  throw new GossipValidationError('reject', code, message)
}

function bound (ok: boolean, what: string): void {
  if (!ok) reject('ERR_BOUNDS', `${what} is out of bounds`)
}

const inRange = (v: number, min: number, max: number): boolean => v >= min && v <= max

/** Throws ERR_CID unless `s` parses as a CID in its canonical CIDv1 base32 form. */
export function checkCid (s: string, what: string): void {
  let cid: CID
  try {
    cid = CID.parse(s)
  } catch {
    reject('ERR_CID', `${what} does not parse as a CID`)
  }
  if (cid.version !== 1 || cid.toString() !== s) reject('ERR_CID', `${what} is not a canonical CIDv1 base32 string`)
}

function checkRound (round: number): void {
  bound(inRange(round, 0, L.maxRounds - 1), 'round')
}

function checkAttempt (attempt: number): void {
  bound(inRange(attempt, 0, L.maxAttempts - 1), 'attempt')
}

function checkSamples (samples: number): void {
  bound(samples >= 1 && samples < L.maxSamples, 'samples')
}

function checkMetrics (m: TrainingMetrics): void {
  // the schema already refused NaN and infinities
  bound(m.loss >= 0 && inRange(m.accuracy, 0, 1), 'metrics')
}

/** Bounds and consistency of a job spec (the id and creator are checked by the caller). */
export function checkJobSpec (job: JobSpec): void {
  bound(inRange(job.rounds, 1, L.maxRounds), 'rounds')
  bound(inRange(job.minParticipants, 1, L.maxParticipants), 'minParticipants')
  bound(inRange(job.localEpochs, 1, L.maxLocalEpochs), 'localEpochs')
  bound(inRange(job.batchSize, 1, L.maxBatchSize), 'batchSize')
  bound(job.learningRate > 0 && job.learningRate <= L.maxLearningRate, 'learningRate')
  bound(Number.isSafeInteger(job.createdAt) && job.createdAt >= 0, 'createdAt')
  try {
    const spec = validateModelSpec(job.model)
    if (spec.inputShape != null) weightPlan(spec, spec.inputShape)
  } catch (err) {
    if (err instanceof TrainingError) reject('ERR_BOUNDS', `model: ${err.message}`)
    throw err
  }
  const a = job.aggregation
  if (a.kind === 'trimmed-mean') bound(a.beta >= 0 && a.beta < 0.5, 'aggregation.beta')
  if (a.kind === 'krum') {
    // every seal lists >= minParticipants deltas, and Multi-Krum needs n >= f + 3 and m <= n
    bound(a.f >= 0 && job.minParticipants >= a.f + 3, 'aggregation.f')
    if (a.m !== undefined) bound(inRange(a.m, 1, job.minParticipants), 'aggregation.m')
  }
  const c = job.compression
  if (c.kind === 'topk') bound(c.fraction > 0 && c.fraction <= 1, 'compression.fraction')
  if (c.kind === 'int8' && c.blockSize !== undefined) bound(inRange(c.blockSize, 1, 65536), 'compression.blockSize')
  if (job.target !== undefined) bound(job.target.value > 0 && job.target.value <= 1, 'target.value')
  const t = job.timing
  bound(inRange(t.roundTimeoutMs, 1, L.maxTimingMs), 'timing.roundTimeoutMs')
  bound(inRange(t.sealTimeoutMs, 1, L.maxTimingMs), 'timing.sealTimeoutMs')
  bound(inRange(t.minWaitMs, 0, L.maxTimingMs), 'timing.minWaitMs')
  bound(inRange(t.capMs, t.minWaitMs, L.maxTimingMs), 'timing.capMs')
  bound(inRange(t.deadlineK, 0, L.maxDeadlineK), 'timing.deadlineK')
  checkCid(job.initialModelCid, 'initialModelCid')
}

/**
 * Check a schema-valid message signed by `signer`. A job's id must be the hash of its spec and its creator the signer
 * (nobody announces jobs in someone else's name); a seal's deltas must be strictly ascending by cid, one per peer; a
 * promise is for attempt >= 1 and reports a lock from an earlier attempt.
 */
export function checkTrainingMessage (msg: TrainingMessage, signer: string): void {
  switch (msg.type) {
    case 'job':
      if (jobIdOf(msg.job) !== msg.job.id) reject('ERR_JOB_ID', 'job id is not the hash of the job spec')
      if (msg.job.creator !== signer) reject('ERR_SIGNER', 'job creator is not the record signer')
      checkJobSpec(msg.job)
      return
    case 'join':
      checkSamples(msg.samples)
      return
    case 'leave':
      return
    case 'delta':
      checkRound(msg.round)
      checkSamples(msg.samples)
      bound(inRange(msg.bytes, 1, L.maxDeltaBytes), 'bytes')
      checkMetrics(msg.metrics)
      checkCid(msg.baseModelCid, 'baseModelCid')
      checkCid(msg.cid, 'cid')
      return
    case 'seal': {
      checkRound(msg.round)
      checkAttempt(msg.attempt)
      checkMetrics(msg.metrics)
      checkCid(msg.baseModelCid, 'baseModelCid')
      checkCid(msg.aggregateCid, 'aggregateCid')
      const peers = new Set<string>()
      msg.deltas.forEach((d, i) => {
        checkSamples(d.samples)
        checkCid(d.cid, `deltas[${i}].cid`)
        if (i > 0 && compareIds(msg.deltas[i - 1].cid, d.cid) >= 0) reject('ERR_ORDER', 'seal deltas are not strictly ascending by cid')
        if (peers.has(d.peerId)) reject('ERR_DUPLICATE', 'seal lists two deltas from one peer')
        peers.add(d.peerId)
      })
      return
    }
    case 'vote':
      checkRound(msg.round)
      checkAttempt(msg.attempt)
      checkCid(msg.aggregateCid, 'aggregateCid')
      return
    case 'promise':
      checkRound(msg.round)
      checkAttempt(msg.attempt)
      bound(msg.attempt >= 1, 'attempt') // attempt 0 needs no promise
      if (msg.locked !== undefined) {
        bound(inRange(msg.locked.attempt, 0, msg.attempt - 1), 'locked.attempt')
        checkCid(msg.locked.aggregateCid, 'locked.aggregateCid')
      }
  }
}
