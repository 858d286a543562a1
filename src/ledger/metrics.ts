/** Ledger metrics (`meshnode_ledger_*`) on the node's prom-client Registry. Labels are bounded enums. */
import { Counter, Gauge, type Registry } from 'prom-client'
import { createChainMetrics, type ChainMetrics } from './chain/metrics.js'

/** The ledger metrics, injected into the ledger service. */
export interface LedgerMetrics {
  /** Transactions sent by the wallet, by operation and result. */
  transactions: Counter<'op' | 'result'>
  /** The latest block number seen. */
  blockNumber: Gauge
  /** The wallet's FTNS (token balance, vault free, vault locked), as of the last wallet read. */
  walletFtns: Gauge<'where'>
  /** The chain client's metrics (`meshnode_ledger_chain_*`). */
  chain: ChainMetrics
}

function get<T> (registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make()
}

/** Create (or reuse, when already registered on this registry) the ledger metrics. */
export function createLedgerMetrics (registry: Registry): LedgerMetrics {
  const registers = [registry]
  return {
    transactions: get(registry, 'meshnode_ledger_transactions_total', () => new Counter({ name: 'meshnode_ledger_transactions_total', help: 'Wallet transactions by operation and result', labelNames: ['op', 'result'], registers })),
    blockNumber: get(registry, 'meshnode_ledger_block_number', () => new Gauge({ name: 'meshnode_ledger_block_number', help: 'Latest block number seen', registers })),
    chain: createChainMetrics(registry),
    walletFtns: get(registry, 'meshnode_ledger_wallet_ftns', () => new Gauge({ name: 'meshnode_ledger_wallet_ftns', help: 'FTNS of this node\'s wallet by place (wallet, free, locked)', labelNames: ['where'], registers }))
  }
}
