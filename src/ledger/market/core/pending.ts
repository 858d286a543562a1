/**
 * Compute asks waiting for their maker node's signed hardware record. An ask can only be checked against the record
 * of the node it names; a node that has not seen that record yet holds the ask here (bounded per maker node and in
 * total) until the record arrives or the wait runs out. Pure: the caller passes the time and decides what to do with
 * what `take` and `expire` hand back.
 */
import { refuse, type Checked } from '../errors.js'

/** The bounds of the pending set. */
export interface PendingLimits {
  /** Asks held per maker node. */
  maxPerPeer: number
  /** Asks held in all. */
  maxTotal: number
  /** Milliseconds an ask waits for its record. */
  waitMs: number
}

/** One held ask. */
export interface PendingEntry<T> {
  peer: string
  hash: string
  item: T
  /** When it is refused if its record has not come (ms, the caller's clock). */
  until: number
}

/** The asks held per maker node, in arrival order. */
export class PendingAsks<T> {
  private readonly byPeer = new Map<string, Map<string, PendingEntry<T>>>()
  private count = 0

  constructor (private readonly limits: PendingLimits) {}

  /** Asks held. */
  get size (): number {
    return this.count
  }

  /** The maker nodes with held asks. */
  peers (): string[] {
    return [...this.byPeer.keys()]
  }

  /** Whether the ask `hash` is held. */
  has (peer: string, hash: string): boolean {
    return this.byPeer.get(peer)?.has(hash) === true
  }

  /** Holds `item` until `now + waitMs`; refused `hardware-unknown` when a bound is reached (a held hash is kept as is). */
  add (peer: string, hash: string, item: T, now: number): Checked<PendingEntry<T>> {
    const held = this.byPeer.get(peer)
    const same = held?.get(hash)
    if (same !== undefined) return { ok: true, value: same }
    if ((held?.size ?? 0) >= this.limits.maxPerPeer) {
      return refuse('hardware-unknown', `the hardware record of ${peer} is unknown and ${held?.size ?? 0} of its asks already wait for it`)
    }
    if (this.count >= this.limits.maxTotal) return refuse('hardware-unknown', `the hardware record of ${peer} is unknown and ${this.count} asks already wait for records`)
    const entry: PendingEntry<T> = { peer, hash, item, until: now + this.limits.waitMs }
    if (held === undefined) this.byPeer.set(peer, new Map([[hash, entry]]))
    else held.set(hash, entry)
    this.count++
    return { ok: true, value: entry }
  }

  /** Hands back (and forgets) every ask of `peer`, oldest first: its record has arrived. */
  take (peer: string): Array<PendingEntry<T>> {
    const held = this.byPeer.get(peer)
    if (held === undefined) return []
    this.byPeer.delete(peer)
    this.count -= held.size
    return [...held.values()]
  }

  /** Hands back (and forgets) every ask whose wait ended by `now`. */
  expire (now: number): Array<PendingEntry<T>> {
    const out: Array<PendingEntry<T>> = []
    for (const [peer, held] of this.byPeer) {
      for (const [hash, e] of held) {
        if (e.until > now) continue
        held.delete(hash)
        out.push(e)
      }
      if (held.size === 0) this.byPeer.delete(peer)
    }
    this.count -= out.length
    return out
  }

  /** Forgets everything (the service stops). */
  clear (): void {
    this.byPeer.clear()
    this.count = 0
  }
}
