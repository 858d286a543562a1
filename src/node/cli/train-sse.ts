/**
 * Server-Sent Events for the CLI: an incremental parser (the WHATWG event-stream rules, chunk boundaries anywhere),
 * an async iterator over a fetch body, and the decoder of the training events `meshnode train watch` follows.
 */
import type { PooledLine, RoundLine } from './train-format.js'

/** One dispatched event. */
export interface SseEvent {
  /** The `event:` field; `message` when absent. */
  event: string
  /** The `data:` lines joined with `\n`. */
  data: string
  id?: string
}

/**
 * Incremental event-stream parser: feed decoded text in chunks of any size, get the events completed so far. Lines end
 * in LF, CRLF or CR; `:` lines are comments (keep-alives); an event is dispatched at a blank line only if it had data.
 */
export class SseParser {
  private buf = ''
  private started = false
  private event = ''
  private data: string[] = []
  private id: string | undefined

  push (chunk: string): SseEvent[] {
    this.buf += chunk
    if (!this.started && this.buf.length > 0) {
      this.started = true
      if (this.buf.startsWith('\uFEFF')) this.buf = this.buf.slice(1)
    }
    const out: SseEvent[] = []
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf)
      if (m == null) break
      // a CR at the very end may be the first half of a CRLF split across chunks
      if (m[0] === '\r' && m.index === this.buf.length - 1) break
      const line = this.buf.slice(0, m.index)
      this.buf = this.buf.slice(m.index + m[0].length)
      const ev = this.line(line)
      if (ev != null) out.push(ev)
    }
    return out
  }

  /** The stream ended: a pending CR ends its line, but an event without its blank line is dropped (per the spec). */
  end (): SseEvent[] {
    const out: SseEvent[] = []
    if (this.buf.endsWith('\r')) {
      const ev = this.line(this.buf.slice(0, -1))
      if (ev != null) out.push(ev)
    }
    this.buf = ''
    this.event = ''
    this.data = []
    return out
  }

  private line (line: string): SseEvent | undefined {
    if (line === '') {
      if (this.data.length === 0) { this.event = ''; return undefined }
      const ev: SseEvent = { event: this.event === '' ? 'message' : this.event, data: this.data.join('\n'), ...(this.id !== undefined ? { id: this.id } : {}) }
      this.event = ''
      this.data = []
      return ev
    }
    if (line.startsWith(':')) return undefined
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'event') this.event = value
    else if (field === 'data') this.data.push(value)
    else if (field === 'id' && !value.includes('\0')) this.id = value
    // `retry` and unknown fields are ignored
    return undefined
  }
}

/** The events of a response body, in order, until the stream ends (or its fetch is aborted, which throws). */
export async function * sseEvents (body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  const parser = new SseParser()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      yield * parser.push(decoder.decode(value, { stream: true }))
    }
    yield * parser.push(decoder.decode())
    yield * parser.end()
  } finally {
    reader.releaseLock()
  }
}

/** A training event decoded from the node's event stream. */
export type TrainingEvent =
  | { kind: 'round', jobId: string, report: RoundLine }
  | { kind: 'pooled', jobId: string, pooled: PooledLine }
  | { kind: 'finished', jobId: string, reason: string | null }

const numOrNull = (v: unknown): number | null => typeof v === 'number' && Number.isFinite(v) ? v : null
const numOr0 = (v: unknown): number => numOrNull(v) ?? 0

/**
 * Decode `training.round` (`{ jobId, round, accuracy, loss, f1, participants, bytesSent, bytesReceived, durationMs }`)
 * `training.pooled` (`{ jobId, round, accuracy, nodes, of, here }`, the job's figure, a round later), `training.finished`
 * (`{ jobId, reason }`), and `training.stopped` as finished with reason `stopped`; undefined for
 * any other event or a malformed payload.
 */
export function parseTrainingEvent (ev: SseEvent): TrainingEvent | undefined {
  if (ev.event !== 'training.round' && ev.event !== 'training.finished' && ev.event !== 'training.stopped' && ev.event !== 'training.pooled') return undefined
  let d: unknown
  try { d = JSON.parse(ev.data) } catch { return undefined }
  if (d == null || typeof d !== 'object' || Array.isArray(d)) return undefined
  const o = d as Record<string, unknown>
  if (typeof o.jobId !== 'string' || o.jobId === '') return undefined
  if (ev.event === 'training.stopped') return { kind: 'finished', jobId: o.jobId, reason: o.reason === 'target' ? 'target' : 'stopped' }
  if (ev.event === 'training.finished') return { kind: 'finished', jobId: o.jobId, reason: typeof o.reason === 'string' ? o.reason : null }
  if (typeof o.round !== 'number' || !Number.isInteger(o.round) || o.round < 0) return undefined
  if (ev.event === 'training.pooled') {
    const accuracy = numOrNull(o.accuracy)
    if (accuracy == null || !Number.isInteger(o.nodes) || !Number.isInteger(o.of)) return undefined
    return { kind: 'pooled', jobId: o.jobId, pooled: { round: o.round, accuracy, nodes: o.nodes as number, of: o.of as number, here: numOrNull(o.here) } }
  }
  return {
    kind: 'round',
    jobId: o.jobId,
    report: {
      round: o.round,
      accuracy: numOrNull(o.accuracy),
      loss: numOrNull(o.loss),
      f1: numOrNull(o.f1),
      participants: numOr0(o.participants),
      bytesSent: numOr0(o.bytesSent),
      bytesReceived: numOr0(o.bytesReceived),
      durationMs: numOr0(o.durationMs)
    }
  }
}
