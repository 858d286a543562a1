/**
 * Gossiped orders whose admission failed on a chain read (an RPC timing out, a chain node restarting): not the order's
 * fault, so the gossip validator ignores them; but gossipsub never delivers an ignored message again, and without a
 * second try the order would be missing from this node's book until the next market sync with its sender (on a new
 * connection only). Each is held (bounded) and admitted again after a back-off that doubles, `tries` times at most.
 */

/** What a second admission came to: settled (in the book, refused, or parked elsewhere), or the chain failed again. */
export type RetryOutcome = 'settled' | 'chain-failed'

/** Bounds of the retry set. */
export interface AdmissionRetryLimits {
  /** Messages held at once; beyond it a message is dropped (the next market sync brings it). */
  max: number
  /** Admissions tried after the first, at most. */
  tries: number
  /** Pause before the first retry; doubles after each failure. */
  delayMs: number
}

export const ADMISSION_RETRY_DEFAULTS: AdmissionRetryLimits = { max: 256, tries: 4, delayMs: 1000 }

/** The held messages and their timers. */
export class AdmissionRetry<T> {
  private readonly timers = new Set<NodeJS.Timeout>()

  constructor (private readonly limits: AdmissionRetryLimits, private readonly admit: (item: T) => Promise<RetryOutcome>) {}

  /** Messages waiting for a retry. */
  get size (): number {
    return this.timers.size
  }

  /** Holds `item` for a retry; false when the set is full (the item is dropped). */
  hold (item: T): boolean {
    if (this.timers.size >= this.limits.max) return false
    this.schedule(item, 1)
    return true
  }

  /** Drops what is held (the service stopping; a retry in flight then finds the market stopped and settles). */
  clear (): void {
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
  }

  private schedule (item: T, attempt: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      this.admit(item).then(outcome => {
        if (outcome === 'chain-failed' && attempt < this.limits.tries) this.schedule(item, attempt + 1)
      }, () => {})
    }, this.limits.delayMs * 2 ** (attempt - 1))
    timer.unref()
    this.timers.add(timer)
  }
}
