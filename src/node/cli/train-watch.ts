/**
 * `meshnode train watch`: the rounds a job has done, then one line per round as the node accepts it, live from the
 * event stream, until the job finishes or the watcher is aborted (Ctrl-C). The job's figure (the accepted model's
 * accuracy pooled over the contributors' held-out splits) arrives up to a round later: a `pooled` line per round once
 * every contributor reported, with this node's own figure beside it (--json: every update).
 */
import type { JobView } from '../../training/index.js'
import { ClientError, type ApiClient } from './client.js'
import { finishedLine, pooledLine, roundLine, shortJobId, type PooledLine, type RoundLine } from './train-format.js'
import { parseTrainingEvent, sseEvents } from './train-sse.js'

interface WatchOptions {
  /** Receives each output line (without newline). */
  write: (line: string) => void
  /** One JSON object per line instead of text. */
  json?: boolean
  /** Stop watching (Ctrl-C). */
  signal?: AbortSignal
  /** After the job finished, how long to wait for the last round's pooled figure (default 10 s). */
  pooledGraceMs?: number
}

type WatchOutcome = { outcome: 'finished', reason: string | null } | { outcome: 'interrupted' }

/** Follow a job. Subscribes before reading the job so no round accepted in between is missed (duplicates are skipped). */
export async function watchJob (api: Pick<ApiClient, 'fetch' | 'request'>, jobId: string, opts: WatchOptions): Promise<WatchOutcome> {
  const ac = new AbortController()
  const onAbort = (): void => { ac.abort() }
  const interrupted = (): boolean => opts.signal?.aborted === true
  if (interrupted()) return { outcome: 'interrupted' }
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  const emitRound = (r: RoundLine): void => {
    opts.write(opts.json === true ? JSON.stringify({ type: 'round', jobId, ...r }) : roundLine(r))
  }
  const complete = new Set<number>()
  let sawPooled = false
  const emitPooled = (p: PooledLine): void => {
    sawPooled = true
    const done = p.nodes >= p.of
    if (opts.json === true) {
      opts.write(JSON.stringify({ type: 'pooled', jobId, ...p }))
      if (done) complete.add(p.round)
      return
    }
    if (!done || complete.has(p.round)) return
    complete.add(p.round)
    opts.write(pooledLine(p))
  }
  let pending: { reason: string | null, round: number } | undefined
  let grace: NodeJS.Timeout | undefined
  const emitFinished = (reason: string | null): WatchOutcome => {
    opts.write(opts.json === true ? JSON.stringify({ type: 'finished', jobId, reason }) : finishedLine(jobId, reason))
    return { outcome: 'finished', reason }
  }

  try {
    // an abort (opts.signal -> ac) rejects the fetch or the stream read; the catch below turns it into 'interrupted'
    const res = await api.fetch('GET', '/v1/events', { signal: ac.signal })
    const job = await api.request<JobView>('GET', `/v1/training/jobs/${jobId}`, { signal: ac.signal })
    if (opts.json !== true) {
      opts.write(`job ${shortJobId(job.id)}: ${job.spec.dataset}, ${job.spec.aggregation.kind}, ${job.spec.rounds} rounds, min ${job.spec.minParticipants} participants (${job.status})`)
    }
    let last = -1
    for (const r of [...job.rounds].sort((a, b) => a.round - b.round)) { emitRound(r); last = Math.max(last, r.round) }
    if (job.status === 'finished') return emitFinished(job.finishedReason)
    if (job.status === 'stopped') return emitFinished('stopped')
    if (res.body == null) throw new ClientError('ERR_STREAM_CLOSED', 'the daemon sent no event stream')

    for (const r of job.rounds) if (r.pooled != null && r.pooled.nodes === r.pooled.of) { complete.add(r.round); sawPooled = true }
    for await (const ev of sseEvents(res.body)) {
      const t = parseTrainingEvent(ev)
      if (t == null || t.jobId !== job.id) continue
      if (t.kind === 'finished') {
        // the last round's pooled figure comes after the finish: wait a little for it, if this node reports them
        if (!sawPooled || complete.has(last)) return emitFinished(t.reason)
        pending = { reason: t.reason, round: last }
        grace = setTimeout(() => { ac.abort() }, opts.pooledGraceMs ?? 10_000)
        continue
      }
      if (t.kind === 'pooled') {
        emitPooled(t.pooled)
        if (pending != null && complete.has(pending.round)) return emitFinished(pending.reason)
        continue
      }
      if (t.report.round > last) { emitRound(t.report); last = t.report.round }
    }
    if (pending != null) return emitFinished(pending.reason)
    throw new ClientError('ERR_STREAM_CLOSED', 'the daemon closed the event stream before the job finished (did it stop?)')
  } catch (err) {
    if (interrupted()) return { outcome: 'interrupted' }
    if (pending != null) return emitFinished(pending.reason)
    throw err
  } finally {
    clearTimeout(grace)
    opts.signal?.removeEventListener('abort', onAbort)
    // closes the event stream connection so the process can exit
    ac.abort()
  }
}
