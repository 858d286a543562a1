/** Human renderings for `meshnode train`: round lines, round and job tables, a job summary. Pure. */
import type { JobView } from '../../training/index.js'
import { formatBytes, keyValues, table } from './format.js'

/**
 * What one round line shows: the `training.round` event's payload, a subset of `RoundReport`. Metrics are null when
 * they were not finite (JSON has no NaN).
 */
export interface RoundLine {
  round: number
  accuracy: number | null
  loss: number | null
  f1: number | null
  participants: number
  bytesSent: number
  bytesReceived: number
  durationMs: number
  /** The job's figure: the accepted model's accuracy pooled over the contributors' held-out splits. */
  pooled?: { accuracy: number, nodes: number, of: number } | null
  /** The peers whose deltas the round's seal aggregated. */
  contributors?: string[]
}

/** The last 6 characters of a peer id: enough to tell a mesh's peers apart in a table. */
const shortPeer = (p: string): string => p.slice(-6)

const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v)

/** First 12 hex digits: unique enough to read, and accepted back as a prefix by every `train` command. */
export const shortJobId = (id: string): string => id.slice(0, 12)

/** `850 ms`, `12.3 s`, `4m05s`, `2h03m`. */
export function formatDuration (ms: number): string {
  if (!finite(ms)) return '-'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const s = Math.round(ms / 1000)
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`
}

/** A 0..1 metric as a percentage with one decimal; `-` when missing. */
export function formatPct (v: number | null | undefined): string {
  return finite(v) ? `${(v * 100).toFixed(1)}%` : '-'
}

/** A loss or score with 4 decimals; `-` when missing. */
function formatNum (v: number | null | undefined): string {
  return finite(v) ? v.toFixed(4) : '-'
}

/** The job's pooled figure for a round as `train watch` streams it, with this node's own beside it. */
export interface PooledLine { round: number, accuracy: number, nodes: number, of: number, here: number | null }

/** `round   3  pooled  93.1%  (3/3 nodes)  here  92.0%`: the job's figure, once its contributors reported. */
export function pooledLine (p: PooledLine): string {
  return `round ${String(p.round).padStart(3)}  pooled ${formatPct(p.accuracy).padStart(6)}  (${p.nodes}/${p.of} nodes)  here ${formatPct(p.here).padStart(6)}`
}

/** One line per accepted round, as `train watch` prints them: this node's figures (and the pooled one when known). */
export function roundLine (r: RoundLine): string {
  return [
    `round ${String(r.round).padStart(3)}`,
    `acc ${formatPct(r.accuracy).padStart(6)}`,
    ...(r.pooled != null ? [`pooled ${formatPct(r.pooled.accuracy).padStart(6)} (${r.pooled.nodes}/${r.pooled.of})`] : []),
    `loss ${formatNum(r.loss)}`,
    `f1 ${formatNum(r.f1)}`,
    `peers ${r.participants}`,
    `sent ${formatBytes(r.bytesSent)}`,
    `recv ${formatBytes(r.bytesReceived)}`,
    formatDuration(r.durationMs)
  ].join('  ')
}

/**
 * The rounds of one job, in round order: ACC is the job's figure (pooled over the contributors' held-out splits, from
 * NODES of them), HERE this node's own evaluation, CONTRIBUTORS the peers the seal aggregated.
 */
export function roundsTable (rounds: readonly RoundLine[]): string {
  return table(['ROUND', 'ACC', 'NODES', 'HERE', 'LOSS', 'F1', 'PARTICIPANTS', 'SENT', 'RECV', 'DURATION', 'CONTRIBUTORS'],
    [...rounds].sort((a, b) => a.round - b.round).map(r => [
      r.round, formatPct(r.pooled?.accuracy), r.pooled == null ? '-' : `${r.pooled.nodes}/${r.pooled.of}`, formatPct(r.accuracy),
      formatNum(r.loss), formatNum(r.f1), r.participants,
      formatBytes(r.bytesSent), formatBytes(r.bytesReceived), formatDuration(r.durationMs),
      r.contributors == null ? '-' : r.contributors.map(shortPeer).join(',')
    ]))
}

/** `mlp 64-10` or `cnn 28x28x1->10`. */
function modelLabel (model: JobView['spec']['model']): string {
  return model.arch === 'mlp' ? `mlp ${model.layers.join('-')}` : `cnn ${model.inputShape.join('x')}->${model.classes}`
}

function lastAccuracy (job: JobView): number | null {
  const last = [...job.rounds].sort((a, b) => a.round - b.round).at(-1)
  return last?.pooled?.accuracy ?? last?.accuracy ?? null
}

/** The jobs this node knows: one row each. */
export function jobsTable (jobs: readonly JobView[]): string {
  return table(['JOB', 'STATUS', 'ROUND', 'PHASE', 'PEERS', 'DATASET', 'MODEL', 'AGGREGATION', 'ACC'],
    jobs.map(j => [
      shortJobId(j.id), j.status, `${j.round}/${j.spec.rounds}`, j.phase, j.participants.length, j.spec.dataset,
      modelLabel(j.spec.model), `${j.spec.aggregation.kind}/${j.spec.compression.kind}`, formatPct(lastAccuracy(j))
    ]))
}

/** Key facts of one job, above its rounds table. */
export function jobSummary (job: JobView): string {
  const s = job.spec
  const finished = job.finishedReason == null ? '' : ` (${job.finishedReason === 'target' ? 'target reached' : 'all rounds done'})`
  return keyValues([
    ['job', job.id],
    ['status', `${job.status}${finished}${job.joined ? ', joined' : ''}`],
    ['round', `${job.round} of ${s.rounds} (${job.phase})`],
    ['participants', `${job.participants.length} (min ${s.minParticipants})`],
    ['dataset', s.dataset],
    ['model', modelLabel(s.model)],
    ['training', `${s.localEpochs} epochs, batch ${s.batchSize}, lr ${s.learningRate}`],
    ['aggregation', s.aggregation.kind],
    ['compression', s.compression.kind],
    ['target', s.target == null ? null : `accuracy ${formatPct(s.target.value)}`],
    ['model cid', job.modelCid]
  ])
}

/** What `train watch` prints when the job is over. */
export function finishedLine (jobId: string, reason: string | null): string {
  const why = reason === 'target' ? 'target accuracy reached' : reason === 'rounds' ? 'all rounds done' : reason === 'stopped' ? 'stopped by its creator' : (reason ?? 'finished')
  return `job ${shortJobId(jobId)} finished: ${why}`
}
