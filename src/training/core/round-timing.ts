/**
 * Round timing decisions every participant must agree on: when a round's deadline falls (robust to stragglers)
 * and which participant seals it (a rotation that moves on deterministically when a seal fails).
 */
import { TrainingError } from '../errors.js'
import { compareIds } from './aggregate.js'

/** Deadline policy: median + k * MAD of arrival times, clamped to [minMs, capMs]. */
export interface DeadlineOptions {
  k: number
  minMs: number
  capMs: number
}

/** A peer eligible to aggregate a round. */
export interface AggregatorCandidate { peerId: string, reputation: number }

/** The median of a non-empty ascending list (mean of the two middle values for an even count). */
export function medianOfSorted (sorted: readonly number[]): number {
  const n = sorted.length
  return n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
}

const ascending = (a: number, b: number): number => a - b

/**
 * The round deadline from delta arrival times (ms since round start): clamp(median + k * MAD, minMs, capMs).
 * MAD is the raw median absolute deviation (k absorbs the 1.4826 normal-consistency factor). Median and MAD
 * shrug off a few stragglers, unlike mean and standard deviation. With no arrivals yet the cap applies.
 */
export function adaptiveDeadline (arrivalsMs: number[], opts: DeadlineOptions): number {
  const { k, minMs, capMs } = opts
  if (!Number.isFinite(k) || k < 0) throw new TrainingError('ERR_ARGUMENT', `k must be finite and >= 0, got ${k}`)
  if (!Number.isFinite(minMs) || !Number.isFinite(capMs) || minMs > capMs) throw new TrainingError('ERR_ARGUMENT', `need finite minMs <= capMs, got ${minMs} and ${capMs}`)
  if (arrivalsMs.length === 0) return capMs
  for (const t of arrivalsMs) if (!Number.isFinite(t)) throw new TrainingError('ERR_ARGUMENT', `arrival time ${t} is not finite`)
  const sorted = [...arrivalsMs].sort(ascending)
  const med = medianOfSorted(sorted)
  const mad = medianOfSorted(sorted.map(t => Math.abs(t - med)).sort(ascending))
  return Math.min(capMs, Math.max(minMs, med + k * mad))
}

/**
 * The peer that seals round `round` on its `attempt`-th try (0 first, +1 after each failed or rejected seal):
 * candidates ordered by reputation descending then peerId ascending (code-unit order), index (round + attempt) mod n.
 */
export function selectAggregator (candidates: AggregatorCandidate[], round: number, attempt: number): string {
  if (candidates.length === 0) throw new TrainingError('ERR_AGGREGATION', 'no aggregator candidates')
  if (!Number.isSafeInteger(round) || round < 0) throw new TrainingError('ERR_ARGUMENT', `round must be a non-negative integer, got ${round}`)
  if (!Number.isSafeInteger(attempt) || attempt < 0) throw new TrainingError('ERR_ARGUMENT', `attempt must be a non-negative integer, got ${attempt}`)
  for (const c of candidates) {
    if (!Number.isFinite(c.reputation)) throw new TrainingError('ERR_ARGUMENT', `reputation of ${c.peerId} is not finite`)
  }
  const ordered = [...candidates].sort((a, b) => b.reputation - a.reputation || compareIds(a.peerId, b.peerId))
  return ordered[(round + attempt) % ordered.length].peerId
}
