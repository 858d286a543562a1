/**
 * The pure rules of a round, apart from the machine's bookkeeping: which deltas count, when a round closes, what a
 * seal's metrics must be, and whether a seal is consistent with the deltas we saw.
 */
import { compareIds } from '../core/aggregate.js'
import { adaptiveDeadline, medianOfSorted } from '../core/round-timing.js'
import type { JobSpec, RoundSeal, SealedDelta, TrainingMetrics } from '../protocol/messages.js'
import type { DeltaEntry, RoundState } from './types.js'

/** The median of a non-empty list (mean of the two middle values for an even count). */
export function median (values: readonly number[]): number {
  return medianOfSorted([...values].sort((a, b) => a - b))
}

/**
 * A seal's metrics: the median loss and median accuracy of the listed deltas' announced metrics. The median keeps a
 * minority of participants from faking the job's progress (and so from stopping it early at the target).
 */
export function sealMetrics (deltas: ReadonlyArray<{ metrics: TrainingMetrics }>): TrainingMetrics {
  return { loss: median(deltas.map(d => d.metrics.loss)), accuracy: median(deltas.map(d => d.metrics.accuracy)) }
}

/**
 * The deltas of the round an aggregate may use, sorted by cid: announced by a participant, not equivocated, not found
 * invalid, not failed to fetch here, one per cid.
 */
export function usableDeltas (r: RoundState): DeltaEntry[] {
  const sorted = r.deltas
    .filter(d => !r.equivocators.includes(d.peerId) && !r.invalid.includes(d.cid) && !r.unavailable.includes(d.cid))
    .sort((a, b) => compareIds(a.cid, b.cid) || compareIds(a.peerId, b.peerId))
  // two peers with bit-identical deltas share a cid; a seal lists each cid once (the lowest peer id's)
  return sorted.filter((d, i) => i === 0 || sorted[i - 1].cid !== d.cid)
}

/** The seal entries for a list of deltas (sorted by cid). */
export function sealedDeltas (deltas: readonly DeltaEntry[]): SealedDelta[] {
  return [...deltas].sort((a, b) => compareIds(a.cid, b.cid)).map(d => ({ cid: d.cid, peerId: d.peerId, samples: d.samples }))
}

/**
 * The adaptive deadline of a round as an absolute time: round start + clamp(median + k * MAD of the usable deltas'
 * arrival offsets, minWaitMs, capMs). Null before the round started.
 */
export function roundDeadline (r: RoundState, job: JobSpec): number | null {
  if (r.startedAt == null) return null
  const start = r.startedAt
  const offsets = usableDeltas(r).map(d => Math.max(0, d.arrivedAt - start))
  return start + adaptiveDeadline(offsets, { k: job.timing.deadlineK, minMs: job.timing.minWaitMs, capMs: job.timing.capMs })
}

/**
 * Whether an open round closes now: at least minParticipants usable deltas, and either every participant delivered
 * (a delta, even a refused one: nothing more will come) or the adaptive deadline passed. Stragglers never block it.
 */
export function closeDue (r: RoundState, participants: readonly string[], job: JobSpec, now: number): boolean {
  if (r.startedAt == null || r.closedAt != null) return false
  if (usableDeltas(r).length < job.minParticipants) return false
  const delivered = new Set(r.deltas.map(d => d.peerId))
  if (participants.every(p => delivered.has(p))) return true
  const deadline = roundDeadline(r, job)
  return deadline != null && now >= deadline
}

/**
 * Whether a closed round is short of deltas here: fewer than minParticipants usable ones. It closed with enough, then
 * one was refused (typically: its producer died before anyone fetched it, and the fetch timed out), so no fresh
 * aggregate is possible until another delta arrives.
 */
export function starved (r: RoundState, job: JobSpec): boolean {
  return r.closedAt != null && usableDeltas(r).length < job.minParticipants
}

/**
 * Whether a closed round still takes deltas from participants that never trained it (they joined after it closed
 * here): when it is starved here, or when it needed a second attempt. The second case is the signal a late joiner can
 * see: only the aggregator and the verifiers learn that a delta was refused, so a round short of deltas elsewhere looks
 * complete here, but it does not get sealed at attempt 0. Deltas reach a closed round as they reach an open one and a
 * fresh aggregate of a later attempt lists them; the promise rule still re-proposes any aggregate a quorum may have
 * accepted first, so a late delta never displaces it.
 */
export function wantsLateDeltas (r: RoundState, job: JobSpec): boolean {
  return r.closedAt != null && (r.attempt >= 1 || starved(r, job))
}

/** A canonical string of a seal's content (equal seals, whatever their key order, give equal strings). */
export function sealDigest (s: RoundSeal): string {
  return JSON.stringify([s.jobId, s.round, s.attempt, s.baseModelCid, s.deltas.map(d => [d.cid, d.peerId, d.samples]),
    s.aggregateCid, s.modelHash, s.metrics.loss, s.metrics.accuracy])
}

/** The verdict of checking a seal against the deltas we accepted for its round. */
export type SealCheck =
  | { kind: 'ok' }
  /** Some listed deltas were not announced to us yet (gossip lag): look again when they arrive. */
  | { kind: 'wait', missing: string[] }
  /** Wrong; `blame`: provably the aggregator's fault (penalise it), else it may have known less than we do. */
  | { kind: 'bad', reason: string, blame: boolean }

/**
 * Check a seal of the current round before recomputing it. A valid seal lists at least minParticipants deltas, each
 * one announced for this round on this base by a participant, with the announced samples, from a peer that did not
 * equivocate and whose delta we did not find invalid; and its metrics are `sealMetrics` of the listed deltas.
 * It need not list every delta we saw (the aggregator closes on its own view); the aggregate is then recomputed from
 * exactly the listed deltas and must be bit-identical.
 */
export function checkSeal (seal: RoundSeal, r: RoundState, job: JobSpec): SealCheck {
  if (seal.round !== r.round || seal.baseModelCid !== r.baseModelCid) return { kind: 'bad', reason: 'wrong-base', blame: true }
  if (seal.deltas.length < job.minParticipants) return { kind: 'bad', reason: 'too-few-deltas', blame: true }
  const missing: string[] = []
  const listed: DeltaEntry[] = []
  for (const d of seal.deltas) {
    if (r.equivocators.includes(d.peerId)) return { kind: 'bad', reason: 'equivocator', blame: false }
    if (r.invalid.includes(d.cid)) return { kind: 'bad', reason: 'invalid-delta', blame: false }
    const e = r.deltas.find(x => x.cid === d.cid && x.peerId === d.peerId)
    if (e == null) {
      // not seen yet; if the peer announced another delta to us, its listed one will expose it as an equivocator
      missing.push(d.cid)
      continue
    }
    if (e.samples !== d.samples) return { kind: 'bad', reason: 'delta-mismatch', blame: true }
    listed.push(e)
  }
  if (missing.length > 0) return { kind: 'wait', missing }
  const m = sealMetrics(listed)
  if (m.loss !== seal.metrics.loss || m.accuracy !== seal.metrics.accuracy) return { kind: 'bad', reason: 'metrics', blame: true }
  return { kind: 'ok' }
}
