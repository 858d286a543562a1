/**
 * The ledger subsystem's public face: the generated contract bindings (`npm run contracts:build`) and the EIP-712
 * helpers for vouchers and orders; the ledger service (wallet, vault deposits and withdrawals, the embedded local
 * chain with its deterministic deployment and faucet) with its options, errors, events, metrics and API views; the
 * chain client (ledger-chain adds its export line here).
 */
export * from './contracts/index.js'
export * from './chain/index.js'
export { ledger, Ledger, WALLET_FILE, type LedgerApi, type LedgerInit, type LedgerComponents, type LedgerState, type LedgerNetwork, type LedgerChain } from './service.js'
export { LedgerOptionsSchema, defaultLedgerOptions, DEFAULT_ANVIL_PORT, type LedgerOptions } from './options.js'
export { LedgerError, LEDGER_ERRORS, type LedgerErrorCode } from './errors.js'
export { ledgerEvents, type LedgerEvents } from './events.js'
export { createLedgerMetrics, type LedgerMetrics } from './metrics.js'
export { parseFtns, formatFtns, FTNS_DECIMALS, FTNS_AMOUNT_PATTERN } from './amounts.js'
export * from './views.js'
export { ensureAnvil, probeChainId, withLocalChainLock, anvilBinary, LOCAL_CHAIN_ID, type LocalChain, type EnsureAnvilInit } from './local/anvil.js'
export {
  deployContracts, ensureLocalContracts, localContractAddresses, localDeployerAddress, deploymentAddresses,
  LOCAL_DEPLOY_PARAMS, PUBLIC_DEPLOY_PARAMS, type ContractAddresses, type DeployParams
} from './local/deploy.js'
export { deployForOperator, type OperatorDeployInit, type OperatorDeployResult } from './operator-deploy.js'
export * from './market/index.js'
export { LedgerRewards, rewardSalt, type RewardsPolicy, type RewardVoucherData } from './rewards.js'
export { startLedgerStack, stopLedgerStack } from './stack.js'
export { ledgerStack, DeferredLedgerStack, DeferredLedger, DeferredMarket, DeferredRewards, type RewardsApi, type LedgerStack, type LedgerStackInit, type LedgerStackComponents } from './deferred.js'
