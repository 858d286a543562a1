/** Defaults of the chain client and the indexer (overridable through their init). */
export const CHAIN_DEFAULTS = {
  /** A transaction pending this long without a receipt is replaced with bumped fees (same nonce). */
  stallMs: 30_000,
  /** How often the client polls receipts, heads and proofs. */
  pollMs: 1_000,
  /** Following a head watch, an idle client still passes every this many idlePollMs (the finality alarm of a stalled chain). */
  idleHeartbeatPasses: 12,
  /** Per-request RPC timeout before the next URL of the failover list is tried. */
  rpcTimeoutMs: 5_000,
  /** Gas estimate headroom: estimate * (1000 + this) / 1000. */
  gasHeadroomPerMille: 200n,
  /** Stop bumping once maxFeePerGas would exceed this (wei); the intent stays pending and alarms instead. */
  maxFeeCapWei: 2_000n * 10n ** 9n * 1000n,
  /** Block hashes the indexer keeps to detect reorgs. */
  indexerKeepBlocks: 128,
  /** Blocks per `eth_getLogs` request. */
  indexerBatchBlocks: 2_000,
  /** How often the indexer polls the head. */
  indexerPollMs: 1_000
} as const
