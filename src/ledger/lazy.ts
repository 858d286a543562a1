/**
 * The ledger's light public face, for the node's start path: options, events, metrics, the API's schemas, the
 * market's topic names and the chain stack's deferred stand-in. Nothing here loads ethers, the contract bindings or
 * the market service (index.ts does, through its re-exports): the node loads those after it listens (deferred.ts).
 */
export { LedgerOptionsSchema, defaultLedgerOptions, DEFAULT_ANVIL_PORT, type LedgerOptions } from './options.js'
export { MarketOptionsSchema, QuoteMarketSchema, defaultMarketOptions, type MarketOptions, type QuoteMarket } from './market/service/options.js'
export { ledgerEvents, type LedgerEvents } from './events.js'
export { createLedgerMetrics, type LedgerMetrics } from './metrics.js'
export { createMarketMetrics, type MarketMetrics } from './market/service/metrics.js'
export { levelKv } from './chain/kv.js'
export { marketTopicsOf } from './market/protocol/topic.js'
export * from './views.js'
export * from './market/service/views.js'
export {
  ledgerStack, DeferredLedgerStack, DeferredLedger, DeferredMarket, DeferredRewards,
  type RewardsApi, type LedgerStack, type LedgerStackInit, type LedgerStackComponents
} from './deferred.js'
export type { LedgerApi, LedgerState, LedgerChain } from './service.js'
export type { MarketApi } from './market/service/api.js'
