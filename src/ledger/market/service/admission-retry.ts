/**
 * Gossiped orders whose admission failed for a reason of this node's, not the order's: a chain read failed (an RPC
 * timing out, a chain node restarting), or this node's read of the maker's lane predates the maker's lane cancel
 * (`lane-ahead`). The gossip validator ignores them; but gossipsub never delivers an ignored message again, and without
 * a second try the order would be missing from this node's book until the next market sync with its sender (on a new
 * connection only). Each is held (bounded) and admitted again after a back-off that doubles, `tries` times at most.
 */

/** What a later admission came to: settled (in the book, refused, or parked elsewhere), or worth another try. */
export type RetryOutcome = 'settled' | 'again'

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
        if (outcome === 'again' && attempt < this.limits.tries) this.schedule(item, attempt + 1)
      }, () => {})
    }, this.limits.delayMs * 2 ** (attempt - 1))
    timer.unref()
    this.timers.add(timer)
  }
}
