/**
 * The indexer's idle rule (pure). A periodic pass first asks the chain for its head (one RPC); when the head is the
 * block the indexer last caught up to (same number and hash), nothing can have changed: no new logs, and no reorg
 * (a reorg changes the hash at that height, or the height). Such a pass does nothing else, and the pause before the
 * next one doubles, from `pollMs` up to `maxIdleMs`; any other head brings the full pass and the short pause back.
 */
import type { BlockRef } from '../types.js'

/** Whether the chain's head is the block the indexer caught up to (nothing new, no reorg). */
export function headUnchanged (caughtUp: BlockRef | undefined, head: BlockRef | undefined): boolean {
  if (caughtUp === undefined || head === undefined) return false
  return caughtUp.number === head.number && caughtUp.hash.toLowerCase() === head.hash.toLowerCase()
}

/** The pause after `quietPasses` passes in a row that found the head unchanged: pollMs x 2^quietPasses, capped. */
export function idlePollDelay (quietPasses: number, pollMs: number, maxIdleMs: number): number {
  if (quietPasses <= 0) return pollMs
  const cap = Math.max(pollMs, maxIdleMs)
  // 2^31 overflows nothing here, but keep the exponent small: past the cap it makes no difference
  return Math.min(cap, pollMs * 2 ** Math.min(quietPasses, 20))
}
