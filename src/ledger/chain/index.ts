/**
 * The chain client: meshnode's one way to the ledger chain. A wallet keystore (its own key, separate from the libp2p
 * identity), nonces persisted in Level, EIP-1559 fees per network, bump-and-replace of stuck transactions, confirmation
 * rules per network with a finality-lag alarm, an RPC failover list, settlement intents made exactly-once by an
 * on-chain proof, and a reorg-safe event indexer into Level.
 *
 * Wiring (done by the node): open the wallet with the passphrase the node read, make a provider from the network's RPC
 * URLs, give the client and the indexer a `ChainKv` over the state store's sublevel, start both, stop them in reverse.
 *
 * ```ts
 * const wallet = await loadOrCreateChainWallet(join(dataDir, 'wallet.json'), passphrase)
 * const network = networkProfile('local')
 * const provider = createChainProvider({ urls, network })
 * const store = levelKv(state.sublevel('chain'))
 * const client = chainClient({ network })({ wallet, provider, store, events, metrics, logger })
 * await client.start()
 * await client.settle({ id: `lock:${lockId}`, kind: 'lock', to: vault, data, proof: { type: 'vault-lock', vault, lockId } })
 * ```
 */
export * from './types.js'
export { IntentProofSchema, IntentStateSchema, IntentTxSchema, IntentReceiptSchema, IntentRecordSchema } from './schemas.js'
export { NETWORKS, networkProfile, networkForChainId, type NetworkOverrides } from './networks.js'
export { feePolicyFor, initialFees, bumpFees, feesFromRecord } from './core/fees.js'
export { recoverNonce, type NonceRecovery } from './core/nonces.js'
export { nextIntentStep, type IntentObservation, type IntentStep } from './core/intents.js'
export { findForkPoint, trimBlockWindow, type ForkPoint } from './core/reorg.js'
export { confirmedUpTo, finalityLagMs, type HeadSnapshot } from './core/confirmations.js'
export {
  createChainWallet, openChainWallet, loadOrCreateChainWallet, readWalletAddress, DEFAULT_SCRYPT_N,
  type ChainWalletOptions
} from './keystore.js'
export { levelKv, memoryKv, type ChainKv, type KvOp, type LevelLike } from './kv.js'
export { FailoverProvider, createChainProvider, isConnectionError, reportFailover, type ChainProviderInit } from './rpc.js'
export { NonceStore } from './nonce-store.js'
export {
  chainClient, type ChainClient, type ChainClientInit, type ChainClientComponents
} from './client.js'
export { proofHolds, type ProofReader } from './proofs.js'
export {
  chainIndexer, type ChainIndexer, type ChainIndexerInit, type ChainIndexerComponents, type WatchedContract,
  type IndexedEventQuery, type IndexerCursor
} from './indexer.js'
export { HeadWatch, type HeadWatchInit, type HeadListener } from './head-watch.js'
export { ChainError, CHAIN_ERRORS, type ChainErrorCode } from './errors.js'
export { chainEvents, type ChainEvents } from './events.js'
export { createChainMetrics, type ChainMetrics } from './metrics.js'
export { CHAIN_DEFAULTS } from './constants.js'
