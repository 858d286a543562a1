/**
 * The reputation parameters of a network (from genesis; changed only by a `network-param` proposal). Every rate is in
 * basis points (1/10,000) and every amount in integer weight units, so every node computes identical tables: no
 * floating point reaches anything that is hashed.
 */
import { ConsensusError } from '../errors.js'

/** Basis points: 10,000 = 100%. */
export const BPS = 10_000n

/** The parameters of the epoch transition and the weight snapshot. */
export interface ReputationParams {
  /** Units credited per accepted contribution (one per peer per job round). */
  workUnit: bigint
  /** Share of a peer's own snapshot weight earned per epoch by agreeing with every finalized outcome (Yuma bonds). */
  bondBps: bigint
  /** Share of a peer's score that decays each epoch (the EMA factor); rounded up so idle scores reach 0. */
  decayBps: bigint
  /** Share of a peer's score removed per proven equivocation (compounded per piece of evidence). */
  slashBps: bigint
  /** One peer's score at most this share of the sum of all scores. */
  maxShareBps: bigint
  /** Epochs a new identity stays in probation. */
  probationEpochs: number
  /** A score below this keeps an identity in probation whatever its age. */
  probationThreshold: bigint
  /** The probation pool's cap as a share of the total effective weight; at most 1,000 (10%). */
  probationPoolBps: bigint
}

/** The defaults: decay 10%/epoch, bonds 5%, slash 50%, cap 20% of the total, probation 3 epochs and 10 work units. */
export const defaultReputationParams: Readonly<ReputationParams> = Object.freeze({
  workUnit: 1_000_000n,
  bondBps: 500n,
  decayBps: 1_000n,
  slashBps: 5_000n,
  maxShareBps: 2_000n,
  probationEpochs: 3,
  probationThreshold: 10_000_000n,
  probationPoolBps: 1_000n
})

/**
 * Check a parameter set's bounds (ERR_PARAMS). Bonds must stay below decay, or a peer that never works would grow
 * forever; the probation pool stays at most 10%, so it is below a third of the 2/3 quorum with room to spare.
 */
export function checkReputationParams (p: ReputationParams): void {
  const fail = (what: string): never => { throw new ConsensusError('ERR_PARAMS', `reputation params: ${what}`) }
  if (p.workUnit <= 0n) fail('workUnit must be positive')
  if (p.decayBps <= 0n || p.decayBps > BPS) fail('decayBps must be in (0, 10000]')
  if (p.bondBps < 0n || p.bondBps >= p.decayBps) fail('bondBps must be in [0, decayBps)')
  if (p.slashBps < 0n || p.slashBps > BPS) fail('slashBps must be in [0, 10000]')
  if (p.maxShareBps <= 0n || p.maxShareBps > BPS) fail('maxShareBps must be in (0, 10000]')
  if (!Number.isSafeInteger(p.probationEpochs) || p.probationEpochs < 0) fail('probationEpochs must be a non-negative integer')
  if (p.probationThreshold < 0n) fail('probationThreshold must be non-negative')
  if (p.probationPoolBps < 0n || p.probationPoolBps > 1_000n) fail('probationPoolBps must be in [0, 1000]')
}
