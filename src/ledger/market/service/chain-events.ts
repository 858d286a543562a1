/**
 * The ComputeMarket's events (from the market's own indexer) applied to the books: a cancel drops its order, a lane
 * cancel every order of the lane signed below its new nonce, a fill re-reads its order (idempotent: the status on
 * chain, not the event's units, decides what remains). This is the books' view of order status between admissions;
 * the re-validation pass does not read each order. An event about an order not booked yet (still being admitted, its
 * status read before the event) is remembered, and the order's status is read again once it is booked.
 */
import type { IndexedEvent } from '../../chain/index.js'
import { bookKeyOf } from '../books.js'
import type { ValidOrder } from '../protocol/message.js'
import type { MarketCore } from './service.js'

/** How many hashes and makers of events on orders not (yet) booked are remembered. */
const RECENT_EVENTS = 4096

/** Applies chain events to a market core's books (see the module comment). */
export class ChainEvents {
  /** Hashes of fills and cancels of orders not booked when their event came. */
  private readonly recent = new Set<string>()
  /** `<maker>:<lane>` -> the lane's nonce after its last cancel seen. */
  private readonly lanes = new Map<string, bigint>()

  constructor (private readonly core: MarketCore) {}

  /** Whether an event about `v` (or its maker's lanes) came while it was not booked: its status needs a fresh read. */
  seenWhileAdmitting (v: ValidOrder): boolean {
    const lane = this.lanes.get(`${v.order.maker.toLowerCase()}:${v.order.nonceLane}`)
    return this.recent.has(v.hash.toLowerCase()) || (lane !== undefined && v.order.laneNonce < lane)
  }

  /** Applies one event (see the module comment). */
  async apply (e: IndexedEvent): Promise<void> {
    const core = this.core
    const rt = core.rt
    if (rt === undefined) return
    const hash = typeof e.args.orderHash === 'string' ? e.args.orderHash : undefined
    if (hash !== undefined && !core.where.has(hash)) this.remember(this.recent, hash.toLowerCase(), true)
    if (e.name === 'OrderCancelled' && hash !== undefined) {
      rt.funding.forget({ hash })
      core.remove(hash, 'cancelled')
    } else if (e.name === 'LaneCancelled') {
      const maker = String(e.args.maker).toLowerCase()
      this.remember(this.lanes, `${maker}:${String(e.args.lane)}`, BigInt(String(e.args.newNonce)))
      rt.funding.forget({ maker })
      for (const key of core.bookSet.keys()) {
        for (const r of core.bookSet.book(key).cancelLane(maker, BigInt(String(e.args.lane)), BigInt(String(e.args.newNonce)))) {
          core.where.delete(r.entry.hash)
          core.removedEvent(r.entry.payload.message.market, r.entry.hash, 'lane-stale')
        }
      }
    } else if ((e.name === 'ComputeFilled' || e.name === 'TradeFilled') && hash !== undefined) {
      const v = core.find(hash)
      core.c.events.emit('market.filled', { market: v?.message.market ?? 'unknown', hash, units: String(e.args.units), taker: String(e.args.taker), tx: e.txHash })
      core.onFill?.(e, v)
      if (v === undefined) { rt.funding.forget({ hash }); return }
      await this.recheck(v)
    }
  }

  /** Reads `v`'s status and funding again (dropping cached reads) and applies what changed to its book. */
  async recheck (v: ValidOrder): Promise<void> {
    const core = this.core
    const rt = core.rt
    if (rt === undefined) return
    rt.funding.forget({ hash: v.hash, maker: v.order.maker })
    const c = await rt.funding.check(v).catch(() => undefined)
    const entry = core.entryOf(v.hash)
    if (c === undefined || entry === undefined) return
    if (!c.ok) core.remove(v.hash, c.refusal.reason)
    else if (c.value.remaining < entry.units) core.bookSet.book(bookKeyOf(v)).applyFill(v.hash, entry.units - c.value.remaining)
  }

  /** Remembers a hash or a lane (bounded, oldest forgotten first). */
  private remember<V> (into: Set<string> | Map<string, V>, key: string, value: V): void {
    into.delete(key)
    if (into instanceof Set) into.add(key)
    else into.set(key, value)
    if (into.size > RECENT_EVENTS) into.delete(into.keys().next().value as string)
  }
}
