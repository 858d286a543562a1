/**
 * The random operations of the CreditVault property tests, and their fast-check arbitrary.
 */
import fc from 'fast-check'

/**
 * One random operation. Amounts are shares in permille of what is available when the operation runs (a wallet, a free
 * balance, the unpaid rest of a lock), so most operations do something while shares above 1000 and of 0 probe the
 * refusals; lock and voucher indexes are taken modulo what exists then.
 */
export type VaultOp =
  | { kind: 'deposit', who: number, share: number }
  | { kind: 'request', who: number, share: number }
  | { kind: 'cancel', who: number }
  | { kind: 'complete', who: number, wait: number | null }
  | { kind: 'lock', payer: number, provider: number, share: number, ttl: bigint }
  | { kind: 'redeem', lock: number, share: number, forgedBy: number | null, anyLock: boolean, nearExpiry: number | null }
  | { kind: 'redeemMany', provider: number, items: Array<{ lock: number, share: number }>, foreign: boolean }
  | { kind: 'replay', voucher: number }
  | { kind: 'release', lock: number, by: number, wait: number | null }
  | { kind: 'warp', seconds: bigint }

/** Relative weights of the operation kinds (a property stresses its own part of the vault). */
export type OpWeights = Partial<Record<VaultOp['kind'], number>>

/**
 * How operations meet time boundaries: `wait` (when not null) first moves the clock to `offset` seconds from the
 * boundary that matters (a withdrawal's readyAt, a lock's expiry), so both sides of every boundary are tried.
 */
const offset = fc.integer({ min: -2, max: 3 })

/** `arb` one time in seven, null otherwise. */
const rarely = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb })

/** `arb` two times in three, null otherwise. */
const mostly = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: arb })

/** The arbitrary of one operation, with `weights` (default 1 each) and `actors` accounts. */
export function vaultOp (actors: number, weights: OpWeights = {}): fc.Arbitrary<VaultOp> {
  const who = fc.nat({ max: actors - 1 })
  // mostly within what is available, sometimes above it, rarely nothing
  const share = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 1000 }) }, { weight: 2, arbitrary: fc.integer({ min: 1001, max: 2000 }) }, { weight: 1, arbitrary: fc.constant(0) })
  const amount = share
  const w = (k: VaultOp['kind']): number => weights[k] ?? 1
  const item = fc.record({ lock: fc.nat(), share })
  return fc.oneof(
    { weight: w('deposit'), arbitrary: fc.record({ kind: fc.constant('deposit' as const), who, share: amount }) },
    { weight: w('request'), arbitrary: fc.record({ kind: fc.constant('request' as const), who, share: amount }) },
    { weight: w('cancel'), arbitrary: fc.record({ kind: fc.constant('cancel' as const), who }) },
    { weight: w('complete'), arbitrary: fc.record({ kind: fc.constant('complete' as const), who, wait: mostly(offset) }) },
    {
      weight: w('lock'),
      arbitrary: fc.record({ kind: fc.constant('lock' as const), payer: who, provider: who, share: amount, ttl: fc.bigInt({ min: 0n, max: 1100n }) })
    },
    {
      weight: w('redeem'),
      arbitrary: fc.record({
        kind: fc.constant('redeem' as const),
        lock: fc.nat(),
        share: amount,
        forgedBy: rarely(who),
        anyLock: fc.integer({ min: 0, max: 4 }).map(x => x === 0),
        nearExpiry: rarely(offset)
      })
    },
    {
      weight: w('redeemMany'),
      arbitrary: fc.record({ kind: fc.constant('redeemMany' as const), provider: who, items: fc.array(item, { minLength: 1, maxLength: 4 }), foreign: fc.boolean() })
    },
    { weight: w('replay'), arbitrary: fc.record({ kind: fc.constant('replay' as const), voucher: fc.nat() }) },
    { weight: w('release'), arbitrary: fc.record({ kind: fc.constant('release' as const), lock: fc.nat(), by: who, wait: mostly(offset) }) },
    { weight: w('warp'), arbitrary: fc.record({ kind: fc.constant('warp' as const), seconds: fc.bigInt({ min: 1n, max: 400n }) }) }
  )
}
