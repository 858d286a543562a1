/**
 * Round reports and job views: what this node measured of each accepted round (evaluated on its held-out split,
 * reported as an event and in metrics), and a job as the API shows it.
 */
import type { Clock } from '../../common/clock.js'
import type { EventSink } from '../../common/events.js'
import type { Logger } from '../../common/logger.js'
import type { TrainingEvents } from '../events.js'
import type { TrainingMetrics } from '../metrics.js'
import type { EvalResult } from '../model/train.js'
import type { ModelEval, RoundSeal } from '../protocol/messages.js'
import type { JobView, RewardView, RoundReport } from './api-types.js'
import type { LocalData } from './local-data.js'
import type { JobRuntime } from './runtime.js'
import { poolEvaluations, withEvaluation, type NodeEvaluation } from './pooled.js'
import { formatWei18, roundPayouts } from '../core/payouts.js'

/** What reporting a round needs. */
export interface RoundReportsComponents {
  /** Evaluate a model (by CID) on the job's held-out split. */
  evaluate: (job: JobRuntime, modelCid: string, data: LocalData) => Promise<EvalResult>
  /** This node's id, and how its own evaluation reaches the other nodes (the training topic). */
  self?: string
  publish?: (msg: ModelEval) => Promise<void>
  events: EventSink<TrainingEvents>
  logger: Logger
  clock: Clock
  metrics?: TrainingMetrics
}

/** Reports each accepted round of a job. */
export class RoundReports {
  constructor (private readonly c: RoundReportsComponents) {}

  /**
   * A seal was accepted: evaluate M_{r+1} on our held-out split, tell the other nodes (an `eval` record), and add the
   * round to the job's reports. Without local data (a job we only follow), or when the evaluation fails, this node's
   * own figures are NaN (null in the API): nothing else stands in for them. The job's figure is `pooled`.
   */
  async measure (job: JobRuntime, round: number, modelCid: string, modelHash: string, seal: RoundSeal, aggregator = ''): Promise<RoundReport> {
    const now = this.c.clock.now()
    const report: RoundReport = {
      round, accuracy: NaN, loss: NaN, f1: NaN, precision: NaN, recall: NaN,
      participants: seal.deltas.length, bytesSent: job.bytes.sent, bytesReceived: job.bytes.received,
      durationMs: now - job.roundStartedAt, modelCid, modelHash,
      attempt: seal.attempt, aggregator, contributors: seal.deltas.map(d => d.peerId).sort(),
      ...(job.spec.reward != null ? { payouts: roundPayouts(BigInt(job.spec.reward.totalWei), job.spec.rounds, round, seal.deltas).map(p => ({ peerId: p.peerId, wei: p.wei.toString(), amount: formatWei18(p.wei) })) } : {})
    }
    job.bytes = { sent: 0, received: 0 }
    job.roundStartedAt = now
    const data = job.data
    if (data != null) {
      try {
        const e = await this.c.evaluate(job, modelCid, data)
        Object.assign(report, { accuracy: e.accuracy, loss: e.loss, f1: e.f1, precision: e.precision, recall: e.recall })
        const own = { peerId: this.c.self ?? '', accuracy: e.accuracy, loss: e.loss, samples: data.test.y.length }
        if (this.c.self != null) job.evaluations = new Map(job.evaluations ?? []).set(round, withEvaluation(job.evaluations?.get(round), own))
        if (this.c.publish != null && Number.isFinite(e.accuracy) && Number.isFinite(e.loss)) {
          this.c.publish({ type: 'eval', jobId: job.spec.id, round, modelCid, accuracy: e.accuracy, loss: e.loss, samples: own.samples })
            .catch(err => { this.c.logger.debug({ job: job.spec.id, round, err: (err as Error).message }, 'publishing the evaluation failed') })
        }
      } catch (err) {
        this.c.logger.error({ job: job.spec.id, round, err: (err as Error).message }, 'evaluating the accepted model failed: this node reports no accuracy for the round')
      }
    }
    report.evaluations = job.evaluations?.get(round) ?? []
    report.pooled = poolEvaluations(report.evaluations, report.contributors ?? [])
    job.evaluations?.delete(round)
    job.reports = [...job.reports.filter(r => r.round !== round), report].sort((a, b) => a.round - b.round)
    return report
  }

  /**
   * A peer's evaluation of an accepted model: kept with the round's report (re-pooling it), or until the report
   * exists. Returns whether a report changed. Evaluations of another model than the round's accepted one are dropped.
   */
  addEvaluation (job: JobRuntime, from: string, msg: ModelEval): boolean {
    const e: NodeEvaluation = { peerId: from, accuracy: msg.accuracy, loss: msg.loss, samples: msg.samples }
    const report = job.reports.find(r => r.round === msg.round)
    // only participants' evaluations are kept (one per peer and round): a stranger cannot make us store more
    if (report == null) {
      const v = job.machine.view()
      if (msg.round < v.round - 1 || msg.round > v.round + 1 || !v.participants.includes(from)) return false
      job.evaluations ??= new Map()
      job.evaluations.set(msg.round, withEvaluation(job.evaluations.get(msg.round), e))
      return false
    }
    if (report.modelCid !== msg.modelCid || report.contributors?.includes(from) !== true) return false
    report.evaluations = withEvaluation(report.evaluations, e)
    report.pooled = poolEvaluations(report.evaluations, report.contributors ?? [])
    this.emitPooled(job, report)
    return true
  }

  /** Stream the round's pooled figure (`train watch` prints it beside this node's own). */
  private emitPooled (job: JobRuntime, report: RoundReport): void {
    const p = report.pooled
    if (p == null) return
    this.c.events.emit('training.pooled', { jobId: job.spec.id, round: report.round, accuracy: p.accuracy, loss: p.loss, samples: p.samples, nodes: p.nodes, of: p.of, here: Number.isFinite(report.accuracy) ? report.accuracy : null })
  }

  /** Tell metrics, the event stream and the log about a measured round (once it is persisted). */
  announce (job: JobRuntime, report: RoundReport): void {
    this.c.metrics?.rounds.inc({ result: 'accepted' })
    if (Number.isFinite(report.accuracy)) this.c.metrics?.accuracy.set(report.accuracy)
    this.c.metrics?.roundSeconds.set(report.durationMs / 1000)
    this.c.events.emit('training.round', { jobId: job.spec.id, ...report })
    this.emitPooled(job, report)
    this.c.logger.info({ job: job.spec.id.slice(0, 12), round: report.round, accuracy: report.accuracy.toFixed(4), participants: report.participants, modelHash: report.modelHash.slice(0, 12) }, 'round accepted')
  }
}

/** A job as the API shows it. */
export function jobView (job: JobRuntime): JobView {
  const v = job.machine.view()
  const last = job.reports.at(-1)
  // the machine finishes as it adopts the last seal; the job is finished here once that round is also reported
  const finished = v.phase === 'finished' && job.reports.some(r => r.round === v.round - 1)
  // a job its creator ended at the target (on the pooled figure) is finished, any other stop is a stop
  const atTarget = job.stopped?.reason === 'target'
  const status = atTarget ? 'finished' : job.stopped != null ? 'stopped' : finished ? 'finished' : job.left ? 'left' : job.join == null ? 'announced' : v.phase === 'waiting' ? 'joined' : 'running'
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
    finishedReason: atTarget ? 'target' : finished ? job.machine.snapshot().state.finished?.reason ?? null : null,
    spec: job.spec,
    rounds: job.reports,
    ...(job.spec.reward != null ? { reward: rewardView(job) } : {})
  }
}

/** A rewarded job's reward view: its total and the vouchers this node sent (creator) or received (contributor). */
function rewardView (job: JobRuntime): RewardView {
  const r = job.spec.reward as NonNullable<JobRuntime['spec']['reward']>
  return {
    total: formatWei18(BigInt(r.totalWei)),
    payer: r.payer,
    vouchers: (job.rewards?.vouchers ?? []).map(v => ({ round: v.round, peerId: v.peerId, amount: formatWei18(BigInt(v.amountWei)), wei: v.amountWei, direction: v.direction }))
  }
}
