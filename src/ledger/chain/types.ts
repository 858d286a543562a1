import type { IntentProof } from './schemas.js'

/**
 * The chain client's public data types: networks and their confirmation and fee rules, settlement intents and their
 * on-chain proofs, finality status and indexed events. Plain data (amounts as decimal strings where they are stored).
 */

/** The networks meshnode knows: the embedded anvil, Polygon's testnet and Polygon mainnet. */
export type ChainNetworkName = 'local' | 'amoy' | 'polygon'

/**
 * When a mined transaction counts (for settlement intents and for whoever credits funds):
 * `blocks`: after `depth` blocks (1 = mined); `finalized`: once the node's `finalized` tag covers its block, or,
 * while finality lags more than `maxLagMs`, once `fallbackDepth` blocks are on top of it.
 */
export type ConfirmationRule =
  | { kind: 'blocks', depth: number }
  | { kind: 'finalized', fallbackDepth: number, maxLagMs: number }

/**
 * How fees are bid: `floor` (Polygon, Amoy): priority fee at least `priorityFloor`, bid `defaultPriority`;
 * `node`: whatever the node suggests (anvil). Every replacement raises both fees by at least `bumpPerMille` / 1000.
 */
export interface FeePolicy {
  mode: 'floor' | 'node'
  priorityFloor: bigint
  defaultPriority: bigint
  /** 125 = +12.5% per replacement (geth's and bor's replacement minimum is 10%). */
  bumpPerMille: bigint
  /** maxFeePerGas = baseFee * baseFeeMultiplier + priority: headroom for base fee rises while pending. */
  baseFeeMultiplier: bigint
}

/** EIP-1559 fees of one transaction. */
export interface Fees {
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
}

/** What the node says about fees now: the pending block's base fee and (optionally) its priority fee suggestion. */
export interface FeeSuggestion {
  baseFee: bigint
  priority?: bigint
}

/** A network's chain id and rules. */
export interface NetworkProfile {
  name: ChainNetworkName
  chainId: bigint
  /** Mines a block per transaction (anvil): providers must not cache (`cacheTimeout: -1`). */
  automine: boolean
  confirmation: ConfirmationRule
  fees: FeePolicy
}

export type { IntentProof, IntentState, IntentTx, IntentReceipt, IntentRecord } from './schemas.js'

/** A settlement to make exactly once: a contract call plus the proof that it happened. */
export interface IntentInput {
  /** The caller's unique id (e.g. `redeem:<lockId>:<cumulative>`): submitting the same id again returns the first. */
  id: string
  /** What it is, for listings and metrics (`lock`, `redeem`, `deposit`, `fill`, ...). */
  kind: string
  to: string
  data: string
  /** Native value in wei. Default 0. */
  value?: bigint
  /** A gas limit; default: estimated once, plus 20%, and stored with the intent. */
  gasLimit?: bigint
  proof: IntentProof
}

/** The chain's head and finality, as the confirmation rule sees them. */
export interface FinalityStatus {
  latest: number
  /** The `finalized` block, or null where the rule is `blocks` or the node has none. */
  finalized: number | null
  /** How far finality trails the head in time (head timestamp - finalized timestamp), ms; 0 under `blocks`. */
  lagMs: number
  /** True while `lagMs` exceeds the rule's `maxLagMs` (the depth fallback is in force). */
  lagging: boolean
  /** The highest block number that counts as confirmed now. */
  confirmedUpTo: number
}

/** A block's number and hash. */
export interface BlockRef {
  number: number
  hash: string
}

/** A contract event stored by the indexer (JSON: uint values as decimal strings). */
export interface IndexedEvent {
  blockNumber: number
  blockHash: string
  logIndex: number
  txHash: string
  /** The watched contract's name (`CreditVault`, `ComputeMarket`, `FTNSToken`). */
  contract: string
  address: string
  /** The event's name in the ABI (`LockOpened`, `Redeemed`, ...). */
  name: string
  args: Record<string, string | boolean | string[]>
}
