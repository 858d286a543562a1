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
import type { RoundSeal } from '../protocol/messages.js'
import type { JobView, RoundReport } from './api-types.js'
import type { LocalData } from './local-data.js'
import type { JobRuntime } from './runtime.js'

/** What reporting a round needs. */
export interface RoundReportsComponents {
  /** Evaluate a model (by CID) on the job's held-out split. */
  evaluate: (job: JobRuntime, modelCid: string, data: LocalData) => Promise<EvalResult>
  events: EventSink<TrainingEvents>
  logger: Logger
  clock: Clock
  metrics?: TrainingMetrics
}

/** Reports each accepted round of a job. */
export class RoundReports {
  constructor (private readonly c: RoundReportsComponents) {}

  /**
   * A seal was accepted: evaluate M_{r+1} on our held-out split and add the round to the job's reports. Without
   * local data (a job we only follow) the seal's median metrics stand in.
   */
  async measure (job: JobRuntime, round: number, modelCid: string, modelHash: string, seal: RoundSeal): Promise<RoundReport> {
    const now = this.c.clock.now()
    const report: RoundReport = {
      round, accuracy: seal.metrics.accuracy, loss: seal.metrics.loss, f1: 0, precision: 0, recall: 0,
      participants: seal.deltas.length, bytesSent: job.bytes.sent, bytesReceived: job.bytes.received,
      durationMs: now - job.roundStartedAt, modelCid, modelHash
    }
    job.bytes = { sent: 0, received: 0 }
    job.roundStartedAt = now
    const data = job.data
    if (data != null) {
      try {
        const e = await this.c.evaluate(job, modelCid, data)
        Object.assign(report, { accuracy: e.accuracy, loss: e.loss, f1: e.f1, precision: e.precision, recall: e.recall })
      } catch (err) {
        this.c.logger.warn({ job: job.spec.id, round, err: (err as Error).message }, 'evaluating the accepted model failed')
      }
    }
    job.reports = [...job.reports.filter(r => r.round !== round), report].sort((a, b) => a.round - b.round)
    return report
  }

  /** Tell metrics, the event stream and the log about a measured round (once it is persisted). */
  announce (job: JobRuntime, report: RoundReport): void {
    this.c.metrics?.rounds.inc({ result: 'accepted' })
    this.c.metrics?.accuracy.set(report.accuracy)
    this.c.metrics?.roundSeconds.set(report.durationMs / 1000)
    this.c.events.emit('training.round', { jobId: job.spec.id, ...report })
    this.c.logger.info({ job: job.spec.id.slice(0, 12), round: report.round, accuracy: report.accuracy.toFixed(4), participants: report.participants, modelHash: report.modelHash.slice(0, 12) }, 'round accepted')
  }
}

/** A job as the API shows it. */
export function jobView (job: JobRuntime): JobView {
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
