/**
 * Replay protection for signed records, pure apart from the injected clock.
 *
 * A record's `seq` is its signing time in ms. A record is fresh when it is no older than `maxAgeMs` and no further in
 * the future than `maxSkewMs`; within that window each (signer, domain, seq) is accepted once. Entries older than the
 * window can be forgotten because the age check already refuses them. The same record seen again is harmless (it may
 * come back by another path: a vote gossiped after a QC carried it, a record relayed again); another record under a
 * seq its signer already used is not something an honest signer makes (SeqSource never repeats one).
 */
import { createHash } from 'node:crypto'
import type { Clock } from '../common/clock.js'
import { GossipValidationError } from '../common/errors.js'

/** How old or how far in the future a record may be. */
export interface ReplayGuardOptions {
  maxAgeMs: number
  maxSkewMs: number
  /** Bound on remembered ids; the oldest are dropped first. */
  maxEntries?: number
}

/** Refuses stale, future and already-seen records (per signer and domain). */
export class ReplayGuard {
  /** Seen ids: their seq (for pruning) and the record's fingerprint. */
  private readonly seen = new Map<string, { seq: number, fingerprint?: string }>()
  private readonly maxEntries: number

  constructor (private readonly clock: Clock, private readonly opts: ReplayGuardOptions) {
    this.maxEntries = opts.maxEntries ?? 100_000
  }

  /**
   * Throws a GossipValidationError when the record is stale or from the future ('reject'), or already seen: ERR_REPLAY,
   * 'ignore' when it is the same record again (equal `fingerprint`s: `recordFingerprint`), 'reject' when another record
   * took its (signer, domain, seq) or either check had no fingerprint.
   */
  check (signer: string, domain: string, seq: number, fingerprint?: string): void {
    const now = this.fresh(seq)
    const id = `${signer}|${domain}|${seq}`
    const had = this.seen.get(id)
    if (had != null) {
      const same = fingerprint != null && had.fingerprint === fingerprint
      throw new GossipValidationError(same ? 'ignore' : 'reject', 'ERR_REPLAY', same ? 'record was already seen' : 'another record was already seen under its signer\'s seq')
    }
    this.seen.set(id, { seq, fingerprint })
    if (this.seen.size > this.maxEntries) this.prune(now)
  }

  /**
   * The freshness half of `check`, without remembering the record (a path where a repeat is harmless, e.g. a vote sent
   * straight to its proposer that may arrive again by gossip); returns the clock's now.
   */
  fresh (seq: number): number {
    const now = this.clock.now()
    if (seq < now - this.opts.maxAgeMs) throw new GossipValidationError('reject', 'ERR_STALE', `record is older than ${this.opts.maxAgeMs} ms`)
    if (seq > now + this.opts.maxSkewMs) throw new GossipValidationError('reject', 'ERR_FUTURE', 'record is dated in the future')
    return now
  }

  private prune (now: number): void {
    for (const [id, { seq }] of this.seen) {
      if (seq < now - this.opts.maxAgeMs || this.seen.size > this.maxEntries) this.seen.delete(id)
    }
  }
}

/** A record's fingerprint for `ReplayGuard.check`: a digest of its signed envelope's bytes. */
export function recordFingerprint (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64').slice(0, 22)
}

/**
 * Monotonic sequence numbers for records we sign: wall-clock ms, but never equal to or below the previous one,
 * so two records signed in the same millisecond stay distinct.
 */
export class SeqSource {
  private last = 0
  constructor (private readonly clock: Clock) {}
  next (): number {
    this.last = Math.max(this.last + 1, this.clock.now())
    return this.last
  }
}
