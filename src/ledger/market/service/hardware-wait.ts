/**
 * Compute asks waiting for their maker node's signed hardware record (the bounded set is core/pending.ts). The
 * service parks an ask here when the record is unknown; when the node learns the record (the hardware service's
 * `hardware.record` event, or the 1 s sweep for a record that came another way), the ask goes through admission
 * again; after `waitMs` it is refused `hardware-unknown`. Gossip validation answers `ignore` for a parked ask: this
 * node does not forward what it could not check (the maker's own mesh peers forward it; a newcomer gets it by sync).
 */
import { PendingAsks, type PendingLimits } from '../core/pending.js'
import type { Refusal } from '../errors.js'

/** Thrown by admission for an ask it parked (not a refusal: the gossip validator ignores the message for now). */
export class HeldAsk extends Error {}

/** What the wait calls back into. */
export interface HardwareWaitHooks<T> {
  /** Whether this node has `peer`'s hardware record now. */
  known: (peer: string) => boolean
  /** Runs admission again for an ask whose record came. */
  readmit: (item: T) => void
  /** Refuses an ask that waited too long. */
  refuse: (item: T, hash: string, refusal: Refusal) => void
  now?: () => number
}

/** The asks held for hardware records, their sweep timer and the admission of what was waiting. */
export class HardwareWait<T> {
  private readonly pending: PendingAsks<T>
  private timer?: NodeJS.Timeout
  private running = false
  private readonly now: () => number

  constructor (private readonly limits: PendingLimits, private readonly hooks: HardwareWaitHooks<T>) {
    this.pending = new PendingAsks(limits)
    this.now = hooks.now ?? Date.now
  }

  /** Asks held. */
  get size (): number {
    return this.pending.size
  }

  /** Parks an ask and throws HeldAsk; throws the refusal (as `refused` returns it) when a bound is reached. */
  hold (peer: string, hash: string, item: T, refused: (r: Refusal) => Error): never {
    const held = this.pending.add(peer, hash, item, this.now())
    if (!held.ok) throw refused(held.refusal)
    this.arm()
    throw new HeldAsk(`ask ${hash} waits up to ${this.limits.waitMs} ms for the hardware record of ${peer}`)
  }

  /** Readmits `peer`'s held asks if its record is known now. */
  release (peer: string): void {
    if (!this.hooks.known(peer)) return
    for (const e of this.pending.take(peer)) this.hooks.readmit(e.item)
  }

  /** Readmits what the records that came allow, refuses what waited too long. */
  sweep (): void {
    for (const peer of this.pending.peers()) this.release(peer)
    for (const e of this.pending.expire(this.now())) {
      this.hooks.refuse(e.item, e.hash, { reason: 'hardware-unknown', message: `no hardware record of ${e.peer} arrived within ${this.limits.waitMs} ms` })
    }
  }

  /** Sweeps every second (or every `waitMs` when shorter) while asks are held; an idle node keeps no timer. */
  start (): void {
    this.running = true
    this.arm()
  }

  stop (): void {
    this.running = false
    clearInterval(this.timer)
    this.timer = undefined
    this.pending.clear()
  }

  private arm (): void {
    if (!this.running || this.timer !== undefined || this.pending.size === 0) return
    this.timer = setInterval(() => {
      this.sweep()
      if (this.pending.size === 0) { clearInterval(this.timer); this.timer = undefined }
    }, Math.min(1000, Math.max(100, this.limits.waitMs)))
    this.timer.unref()
  }
}
