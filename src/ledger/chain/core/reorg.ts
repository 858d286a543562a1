/**
 * Reorg detection for the indexer (pure): it keeps the hashes of the last N blocks it indexed; when the chain's hash
 * of one of them differs, everything from the first differing block on is rolled back and indexed again.
 */
import type { BlockRef } from '../types.js'

/** `none`: the kept window matches the chain; `fork`: roll back from `from`; `deep`: the whole window differs. */
export type ForkPoint = { kind: 'none' } | { kind: 'fork', from: number } | { kind: 'deep', from: number }

/**
 * Compares the kept window `kept` (ascending block numbers) with the chain's hashes of the same numbers (`chain`:
 * number -> hash; a missing number means the chain is now shorter there). Returns the first block to roll back from.
 * `deep` means no kept block still matches: roll back from the window's start (the reorg may go deeper than N).
 */
export function findForkPoint (kept: readonly BlockRef[], chain: ReadonlyMap<number, string>): ForkPoint {
  if (kept.length === 0) return { kind: 'none' }
  let firstBad: number | undefined
  // scan from the newest: the fork point is just above the newest block that still matches
  for (let i = kept.length - 1; i >= 0; i--) {
    const b = kept[i]
    if (chain.get(b.number)?.toLowerCase() === b.hash.toLowerCase()) {
      return firstBad === undefined ? { kind: 'none' } : { kind: 'fork', from: firstBad }
    }
    firstBad = b.number
  }
  return { kind: 'deep', from: kept[0].number }
}

/** The kept window after adding `added` (ascending) and keeping the newest `keep` entries (ascending, unique). */
export function trimBlockWindow (kept: readonly BlockRef[], added: readonly BlockRef[], keep: number): BlockRef[] {
  const byNumber = new Map<number, BlockRef>()
  for (const b of [...kept, ...added]) byNumber.set(b.number, b)
  const all = [...byNumber.values()].sort((a, b) => a.number - b.number)
  return all.slice(Math.max(0, all.length - keep))
}
