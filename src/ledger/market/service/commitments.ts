/**
 * The service's side of funding across a maker's orders (the rule is `allocateFunding` in core/commitments.ts): an
 * index of each maker's live orders per funding source in arrival order, and the re-validation's funding pass, which
 * reads each (maker, source) balance once (cached reads) and drops the orders it cannot back, newest first. Order
 * status (fills, cancels, lanes) is not read here: the market's indexer applies it from the contract's events, so a
 * pass costs chain calls per maker, not per order.
 */
import { BID } from '../../contracts/index.js'
import { allocateFunding, type FundingAllocation, type FundingClaim } from '../core/commitments.js'
import type { BookEntry } from '../core/types.js'
import type { FundingChecker, FundingSource } from '../funding.js'
import type { Refusal } from '../errors.js'
import type { ValidOrder } from '../protocol/message.js'

/** The live book entry of an order hash, if any book holds it. */
export type EntryOf = (hash: string) => BookEntry<ValidOrder> | undefined

interface Group { source: FundingSource, hashes: Set<string> }

/** Each maker's orders per funding source, oldest first (see the module comment). */
export class MakerCommitments {
  private readonly groups = new Map<string, Group>()
  /** The balance each admitted, not yet booked order was weighed against. */
  private readonly weighed = new Map<string, bigint>()

  /** Records a booked order of `source` (after every order already recorded there). */
  add (source: FundingSource, hash: string): void {
    const g = this.groups.get(source.key)
    if (g === undefined) this.groups.set(source.key, { source, hashes: new Set([hash]) })
    else g.hashes.add(hash)
  }

  /** The claims of the source's live orders, oldest first; orders no longer in a book are forgotten here. */
  claims (key: string, entryOf: EntryOf): FundingClaim[] {
    const g = this.groups.get(key)
    if (g === undefined) return []
    const out: FundingClaim[] = []
    for (const hash of g.hashes) {
      const e = entryOf(hash)
      if (e === undefined || !e.live) { g.hashes.delete(hash); continue }
      out.push({ hash, perUnit: perUnitOf(e), units: e.units, minFill: e.minFill })
    }
    if (g.hashes.size === 0) this.groups.delete(key)
    return out
  }

  /** Shares `available` among the source's orders and, last, `newcomer` (an order not booked yet). */
  allocate (source: FundingSource, available: bigint, entryOf: EntryOf, newcomer?: FundingClaim): FundingAllocation {
    const claims = this.claims(source.key, entryOf)
    return allocateFunding(available, newcomer === undefined ? claims : [...claims, newcomer])
  }

  /**
   * At admission: why `v` (with `units` left) is unfunded next to the maker's booked orders on `source`, which come
   * first; or undefined, and the balance is kept for `atBooking`.
   */
  atAdmission (v: ValidOrder, source: FundingSource, available: bigint, units: bigint, entryOf: EntryOf): Refusal | undefined {
    const a = this.allocate(source, available, entryOf, { hash: v.hash, perUnit: source.perUnit, units, minFill: v.order.minFill })
    const u = a.unfunded.find(x => x.hash === v.hash)
    if (u === undefined) { this.weighed.set(v.hash, available); return undefined }
    const others = a.funded.length + a.unfunded.length - 1
    return { reason: 'unfunded', message: `maker ${source.maker} has ${available} wei available and its ${others} earlier orders leave ${u.left}; the smallest fill of ${v.hash} needs ${u.needed}` }
  }

  /**
   * At booking, synchronously with the book insert: `v` weighed again against the balance its admission read, so two
   * orders of one maker admitted at once cannot both count it. Undefined when it still fits (or was not weighed).
   */
  atBooking (v: ValidOrder, source: FundingSource, units: bigint, entryOf: EntryOf): Refusal | undefined {
    const available = this.weighed.get(v.hash)
    if (available === undefined) return undefined
    this.weighed.delete(v.hash)
    const r = this.atAdmission(v, source, available, units, entryOf)
    this.weighed.delete(v.hash)
    return r
  }

  /** Forgets the balances of orders admitted and never booked (each pass). */
  clearWeighed (): void {
    this.weighed.clear()
  }

  /** Every (maker, source) with recorded orders. */
  sources (): FundingSource[] {
    return [...this.groups.values()].map(g => g.source)
  }

  /** Orders recorded (live or not yet pruned). */
  get size (): number {
    let n = 0
    for (const g of this.groups.values()) n += g.hashes.size
    return n
  }
}

/** What one order takes from its source per unit: its price, or for a trade ask its lot of FTNS (as `sourceOf`). */
function perUnitOf (e: BookEntry<ValidOrder>): bigint {
  const v = e.payload
  return v.kind === 'trade' && v.order.side !== BID ? v.order.unitSize : e.price
}

/** What a funding pass did: sources read, orders weighed, contract calls made, and the orders it could not back. */
export interface FundingPassResult {
  sources: number
  orders: number
  calls: number
  unfunded: Array<{ hash: string, message: string }>
}

/**
 * One re-validation funding pass over every (maker, source): its balance read once (a failed read skips the source:
 * not the orders' fault), then shared oldest first; what it cannot back is returned to be dropped `unfunded`.
 */
export async function fundingPass (index: MakerCommitments, entryOf: EntryOf, funding: Pick<FundingChecker, 'available' | 'calls'>): Promise<FundingPassResult> {
  const before = funding.calls
  const result: FundingPassResult = { sources: 0, orders: 0, calls: 0, unfunded: [] }
  for (const source of index.sources()) {
    if (index.claims(source.key, entryOf).length === 0) continue
    const available = await funding.available(source).catch(() => undefined)
    if (available === undefined) continue
    // claims again: the book may have changed while the balance was read
    const a = index.allocate(source, available, entryOf)
    result.sources++
    result.orders += a.funded.length + a.unfunded.length
    for (const u of a.unfunded) {
      result.unfunded.push({ hash: u.hash, message: `maker ${source.maker}'s earlier orders leave ${u.left} of ${available} wei; the smallest fill of ${u.hash} needs ${u.needed}` })
    }
  }
  result.calls = funding.calls - before
  return result
}
