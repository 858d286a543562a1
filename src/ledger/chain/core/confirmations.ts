/**
 * Confirmation rules (pure): which blocks count as confirmed now. `blocks`: `depth` blocks including its own.
 * `finalized`: up to the node's finalized block; while finality trails the head by more than `maxLagMs` (Polygon's
 * finality stalled for up to an hour twice in 2025), a block with `fallbackDepth` blocks on it counts too.
 */
import type { ConfirmationRule } from '../types.js'

/** The head and finality figures a rule reads. Timestamps in seconds (block timestamps). */
export interface HeadSnapshot {
  latest: number
  latestTimestamp: number
  finalized: number | null
  finalizedTimestamp: number | null
}

/** How far the finalized block trails the head in time (ms); null finality counts as lagging forever. */
export function finalityLagMs (h: HeadSnapshot): number {
  if (h.finalized === null || h.finalizedTimestamp === null) return Number.POSITIVE_INFINITY
  return Math.max(0, (h.latestTimestamp - h.finalizedTimestamp) * 1000)
}

/** The highest block number confirmed under `rule` (-1: none yet), and whether the lag alarm is on. */
export function confirmedUpTo (rule: ConfirmationRule, h: HeadSnapshot): { upTo: number, lagging: boolean, lagMs: number } {
  if (rule.kind === 'blocks') return { upTo: h.latest - Math.max(1, rule.depth) + 1, lagging: false, lagMs: 0 }
  const lagMs = finalityLagMs(h)
  const lagging = lagMs > rule.maxLagMs
  const byDepth = h.latest - Math.max(1, rule.fallbackDepth) + 1
  const fin = h.finalized ?? -1
  return { upTo: lagging ? Math.max(fin, byDepth) : fin, lagging, lagMs }
}
