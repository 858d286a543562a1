/**
 * `meshnode train watch`: the rounds a job has done, then one line per round as the node accepts it, live from the
 * event stream, until the job finishes or the watcher is aborted (Ctrl-C).
 */
import type { JobView } from '../../training/index.js'
import { ClientError, type ApiClient } from './client.js'
import { finishedLine, roundLine, shortJobId, type RoundLine } from './train-format.js'
import { parseTrainingEvent, sseEvents } from './train-sse.js'

interface WatchOptions {
  /** Receives each output line (without newline). */
  write: (line: string) => void
  /** One JSON object per line instead of text. */
  json?: boolean
  /** Stop watching (Ctrl-C). */
  signal?: AbortSignal
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

    for await (const ev of sseEvents(res.body)) {
      const t = parseTrainingEvent(ev)
      if (t == null || t.jobId !== job.id) continue
      if (t.kind === 'finished') return emitFinished(t.reason)
      if (t.report.round > last) { emitRound(t.report); last = t.report.round }
    }
    throw new ClientError('ERR_STREAM_CLOSED', 'the daemon closed the event stream before the job finished (did it stop?)')
  } catch (err) {
    if (interrupted()) return { outcome: 'interrupted' }
    throw err
  } finally {
    opts.signal?.removeEventListener('abort', onAbort)
    // closes the event stream connection so the process can exit
    ac.abort()
  }
}
