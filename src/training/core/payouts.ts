/**
 * Training rewards, the arithmetic: how a rewarded job's total is cut into per-round budgets, and how a round's budget
 * is shared among the contributors of its accepted seal. Integer wei only (bigint), so every node computes the same
 * payouts from the same seal, to the wei, and a round pays out exactly its budget.
 *
 * Rules (deterministic):
 * - Round budget: `floor(total / rounds)` each; the last round also gets the remainder `total mod rounds`, so the
 *   budgets of all rounds sum to `total` exactly.
 * - Pro rata: a contributor's weight is the samples of its deltas listed in the seal (one peer listed twice counts
 *   the sum). Each gets `floor(budget * w / W)`; the wei left over (fewer than the number of contributors) go one each
 *   to the contributors with the largest remainders `budget * w mod W`, ties broken by peer id (ascending, code unit
 *   order). The payouts sum to the budget exactly.
 */

/** One delta of a seal as the payout sees it. */
export interface Contribution { peerId: string, samples: number }

/** What one contributor earns in one round. */
export interface Payout { peerId: string, wei: bigint }

/** The budget of round `round` (0-based) of a job paying `total` wei over `rounds` rounds. */
export function roundBudget (total: bigint, rounds: number, round: number): bigint {
  if (total < 0n) throw new RangeError('the total must not be negative')
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError('rounds must be a positive integer')
  if (!Number.isInteger(round) || round < 0 || round >= rounds) return 0n
  const n = BigInt(rounds)
  const base = total / n
  return round === rounds - 1 ? base + total % n : base
}

/**
 * Share `budget` wei among a seal's contributors pro rata to their samples (largest-remainder rule above). Sorted by
 * peer id; contributors with zero payout are kept (a tiny budget may leave some with nothing).
 */
export function sharePayouts (budget: bigint, deltas: readonly Contribution[]): Payout[] {
  if (budget < 0n) throw new RangeError('the budget must not be negative')
  const weights = new Map<string, bigint>()
  for (const d of deltas) {
    if (!Number.isSafeInteger(d.samples) || d.samples < 0) throw new RangeError(`samples must be a non-negative integer, got ${d.samples}`)
    weights.set(d.peerId, (weights.get(d.peerId) ?? 0n) + BigInt(d.samples))
  }
  const peers = [...weights.keys()].sort(byId)
  const total = peers.reduce((s, p) => s + (weights.get(p) ?? 0n), 0n)
  if (total === 0n) return peers.map(peerId => ({ peerId, wei: 0n }))
  const rows = peers.map(peerId => {
    const scaled = budget * (weights.get(peerId) ?? 0n)
    return { peerId, wei: scaled / total, rest: scaled % total }
  })
  let left = budget - rows.reduce((s, r) => s + r.wei, 0n)
  const order = [...rows].sort((a, b) => a.rest === b.rest ? byId(a.peerId, b.peerId) : a.rest > b.rest ? -1 : 1)
  for (const r of order) {
    if (left === 0n) break
    r.wei += 1n
    left -= 1n
  }
  return rows.map(({ peerId, wei }) => ({ peerId, wei }))
}

/** A round's payouts: `sharePayouts(roundBudget(...), deltas)`. */
export function roundPayouts (total: bigint, rounds: number, round: number, deltas: readonly Contribution[]): Payout[] {
  return sharePayouts(roundBudget(total, rounds, round), deltas)
}

/** Wei as a decimal FTNS string (18 decimals, no trailing zeros): how the API shows amounts. */
export function formatWei18 (wei: bigint): string {
  const unit = 10n ** 18n
  const sign = wei < 0n ? '-' : ''
  const abs = wei < 0n ? -wei : wei
  const frac = (abs % unit).toString().padStart(18, '0').replace(/0+$/, '')
  return `${sign}${abs / unit}${frac === '' ? '' : '.' + frac}`
}

function byId (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
