/**
 * Funding across a maker's orders. Orders that draw on one funding source of one maker (a compute bid: its vault free
 * balance; a trade ask: its FTNS; a trade bid: its quote token) must be backed together, not each alone: otherwise
 * ten bids could all count the same balance and nine of them would fail at fill time. The orders are served in
 * priority order (oldest first): each commits what it can fill, `min(units, left / perUnit)` units, and is unfunded
 * when that is below its smallest valid fill (the same rule as for one order alone); an unfunded order commits
 * nothing, so a later, smaller order may still fit in what is left. So a newcomer is refused when the orders before
 * it leave too little, and at re-validation the newest orders are the ones dropped.
 */

/** One order's claim on a funding source. */
export interface FundingClaim {
  hash: string
  /** Wei one unit takes from the source when filled (price per unit, or the lot size for a trade ask). */
  perUnit: bigint
  /** Units not yet filled. */
  units: bigint
  /** The smallest fill; a smaller rest can only be taken whole. */
  minFill: bigint
}

/** A funded order's share of the source. */
export interface FundingShare {
  hash: string
  /** Units its share backs (at least its smallest fill, at most its units). */
  fundedUnits: bigint
  /** Wei committed to it: fundedUnits * perUnit. */
  committed: bigint
}

/** An order the source cannot back next to the ones before it. */
export interface UnfundedClaim {
  hash: string
  /** Wei its smallest fill needs. */
  needed: bigint
  /** Wei the orders before it left. */
  left: bigint
}

/** How one maker's funding source is shared among its orders. */
export interface FundingAllocation {
  funded: FundingShare[]
  unfunded: UnfundedClaim[]
  /** Wei committed to no order. */
  left: bigint
}

/** The smallest fill the contract accepts of `units` remaining units with minimum `minFill`. */
export function smallestFill (units: bigint, minFill: bigint): bigint {
  if (minFill >= units) return units
  return minFill > 0n ? minFill : 1n
}

/**
 * Shares `available` wei among `claims`, given in priority order (see the module comment). Pure; an order with no
 * units left or a zero price commits nothing and is funded.
 */
export function allocateFunding (available: bigint, claims: readonly FundingClaim[]): FundingAllocation {
  let left = available > 0n ? available : 0n
  const funded: FundingShare[] = []
  const unfunded: UnfundedClaim[] = []
  for (const c of claims) {
    if (c.units <= 0n || c.perUnit <= 0n) {
      funded.push({ hash: c.hash, fundedUnits: c.units > 0n ? c.units : 0n, committed: 0n })
      continue
    }
    const backed = left / c.perUnit
    const fundedUnits = backed < c.units ? backed : c.units
    const smallest = smallestFill(c.units, c.minFill)
    if (fundedUnits < smallest) {
      unfunded.push({ hash: c.hash, needed: smallest * c.perUnit, left })
      continue
    }
    const committed = fundedUnits * c.perUnit
    left -= committed
    funded.push({ hash: c.hash, fundedUnits, committed })
  }
  return { funded, unfunded, left }
}
