/**
 * Application-level penalties for peers (bad deltas, equivocation, wrong seals), fed into gossipsub's
 * application-specific score so a misbehaving peer loses mesh standing just like one that gossips invalid records.
 * Penalties decay exponentially so a peer can recover.
 */
import type { Clock } from '../common/clock.js'

/** How fast penalties fade. */
export interface PenaltyBookOptions {
  /** Half-life of a penalty. */
  halfLifeMs: number
}

/** Decaying per-peer penalties, read by gossipsub as the application-specific score. */
export class PenaltyBook {
  private readonly entries = new Map<string, { value: number, at: number }>()

  constructor (private readonly clock: Clock, private readonly opts: PenaltyBookOptions = { halfLifeMs: 10 * 60_000 }) {}

  /** Add `weight` (> 0) to a peer's penalty. */
  penalise (peerId: string, weight = 1): void {
    this.entries.set(peerId, { value: this.current(peerId) + weight, at: this.clock.now() })
  }

  /** The decayed penalty of a peer (0 when none). */
  current (peerId: string): number {
    const e = this.entries.get(peerId)
    if (e == null) return 0
    const v = e.value * Math.pow(0.5, (this.clock.now() - e.at) / this.opts.halfLifeMs)
    if (v < 1e-3) { this.entries.delete(peerId); return 0 }
    return v
  }

  /** gossipsub's appSpecificScore: negative with penalties (weighted by appSpecificWeight there). */
  score (peerId: string): number {
    return -this.current(peerId)
  }
}
