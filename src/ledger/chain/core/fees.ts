/**
 * EIP-1559 fee bids (pure). Polygon and Amoy RPC nodes reject a priority fee under 25 gwei, so there the bid is at
 * least the floor (default 30 gwei); elsewhere (anvil) the node's own suggestion. A replacement (same nonce) must
 * raise both fees by at least 10% to be accepted by geth/bor pools; we raise by 12.5%, and never below a fresh bid.
 */
import type { FeePolicy, Fees, FeeSuggestion } from '../types.js'

const GWEI = 10n ** 9n

/** The fee policy of chain `chainId`: the floor policy on Polygon (137) and Amoy (80002), the node's bids elsewhere. */
export function feePolicyFor (chainId: bigint): FeePolicy {
  if (chainId === 137n || chainId === 80002n) {
    return { mode: 'floor', priorityFloor: 25n * GWEI, defaultPriority: 30n * GWEI, bumpPerMille: 125n, baseFeeMultiplier: 2n }
  }
  return { mode: 'node', priorityFloor: 0n, defaultPriority: GWEI, bumpPerMille: 125n, baseFeeMultiplier: 2n }
}

function max (...xs: bigint[]): bigint {
  return xs.reduce((a, b) => (b > a ? b : a))
}

/** x * (1000 + perMille) / 1000, rounded up, and at least x + 1 (a replacement must raise the fee). */
function raise (x: bigint, perMille: bigint): bigint {
  const r = (x * (1000n + perMille) + 999n) / 1000n
  return r > x ? r : x + 1n
}

/** The first bid for a transaction under `policy`, given the node's current base fee and priority suggestion. */
export function initialFees (policy: FeePolicy, s: FeeSuggestion): Fees {
  const suggested = s.priority ?? policy.defaultPriority
  const priority = policy.mode === 'floor'
    ? max(policy.defaultPriority, policy.priorityFloor, suggested)
    : max(suggested, policy.priorityFloor)
  return { maxPriorityFeePerGas: priority, maxFeePerGas: s.baseFee * policy.baseFeeMultiplier + priority }
}

/**
 * The bid that replaces a pending transaction bid at `prev`: both fees raised by at least `bumpPerMille`, never
 * below a fresh bid at today's base fee, and maxFee >= priority.
 */
export function bumpFees (prev: Fees, policy: FeePolicy, s: FeeSuggestion): Fees {
  const fresh = initialFees(policy, s)
  const priority = max(raise(prev.maxPriorityFeePerGas, policy.bumpPerMille), fresh.maxPriorityFeePerGas)
  const maxFee = max(raise(prev.maxFeePerGas, policy.bumpPerMille), fresh.maxFeePerGas, priority)
  return { maxPriorityFeePerGas: priority, maxFeePerGas: maxFee }
}

/** The fees of a stored transaction record (decimal strings). */
export function feesFromRecord (r: { maxFeePerGas: string, maxPriorityFeePerGas: string }): Fees {
  return { maxFeePerGas: BigInt(r.maxFeePerGas), maxPriorityFeePerGas: BigInt(r.maxPriorityFeePerGas) }
}
