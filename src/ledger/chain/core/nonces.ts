/**
 * Nonce recovery at start (pure). The persisted next nonce is checked against the chain: a pending count above it
 * means the key was used elsewhere (take the chain's); unfinished intents keep the nonces they hold; a nonce between
 * the chain's pending count and the highest held one that no intent holds is a gap, which would stall every later
 * transaction, so it is filled (a 0-value self-transfer).
 */

/** The outcome of `recoverNonce`. */
export interface NonceRecovery {
  /** The next nonce to hand out. */
  next: number
  /** Nonces to fill so that the held ones can be mined, ascending. */
  gaps: number[]
  /** Why `next` differs from the stored value (for the log), or undefined when it does not. */
  reason?: 'fresh' | 'chain-ahead' | 'unused-reservations'
}

/**
 * The next nonce and the gaps to fill, from the stored next nonce (undefined on a fresh store), the chain's pending
 * nonce for the account, and the nonces held by unfinished intents.
 */
export function recoverNonce (stored: number | undefined, chainPending: number, held: readonly number[]): NonceRecovery {
  const live = held.filter(n => n >= chainPending)
  const top = live.length === 0 ? chainPending : Math.max(chainPending, Math.max(...live) + 1)
  const holding = new Set(live)
  const gaps: number[] = []
  for (let n = chainPending; n < top; n++) if (!holding.has(n)) gaps.push(n)
  let reason: NonceRecovery['reason']
  if (stored === undefined) reason = 'fresh'
  else if (top > stored) reason = 'chain-ahead'
  else if (top < stored) reason = 'unused-reservations'
  return { next: top, gaps, ...(reason !== undefined ? { reason } : {}) }
}
