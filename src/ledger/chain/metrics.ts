/** Chain client metrics (`meshnode_ledger_chain_*`) on the node's prom-client Registry. Labels are bounded enums. */
import { Counter, Gauge, type Registry } from 'prom-client'

/** The chain metrics, injected into the client and the indexer. */
export interface ChainMetrics {
  /** Intent state changes by new state. */
  intents: Counter<'state'>
  /** Transactions broadcast, by reason (`first`, `replace`, `rebroadcast`, `gap`). */
  txs: Counter<'reason'>
  /** RPC requests that failed over to the next URL. */
  rpcFailovers: Counter
  /** Seconds finality trails the head. */
  finalityLagSeconds: Gauge
  /** 1 while finality lags beyond the limit (the alarm), else 0. */
  finalityLagging: Gauge
  /** The indexer's cursor (last indexed block). */
  indexedBlock: Gauge
  /** Reorgs the indexer rolled back. */
  reorgs: Counter
}

function get<T> (registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make()
}

/** Create (or reuse, when already registered on this registry) the chain metrics. */
export function createChainMetrics (registry: Registry): ChainMetrics {
  const registers = [registry]
  return {
    intents: get(registry, 'meshnode_ledger_chain_intents_total', () => new Counter({ name: 'meshnode_ledger_chain_intents_total', help: 'Settlement intent state changes by new state', labelNames: ['state'], registers })),
    txs: get(registry, 'meshnode_ledger_chain_txs_total', () => new Counter({ name: 'meshnode_ledger_chain_txs_total', help: 'Transactions broadcast by reason', labelNames: ['reason'], registers })),
    rpcFailovers: get(registry, 'meshnode_ledger_chain_rpc_failovers_total', () => new Counter({ name: 'meshnode_ledger_chain_rpc_failovers_total', help: 'RPC requests moved to the next URL of the failover list', registers })),
    finalityLagSeconds: get(registry, 'meshnode_ledger_chain_finality_lag_seconds', () => new Gauge({ name: 'meshnode_ledger_chain_finality_lag_seconds', help: 'How far the finalized block trails the head, in seconds', registers })),
    finalityLagging: get(registry, 'meshnode_ledger_chain_finality_lagging', () => new Gauge({ name: 'meshnode_ledger_chain_finality_lagging', help: '1 while finality lags beyond the network limit (depth fallback in force)', registers })),
    indexedBlock: get(registry, 'meshnode_ledger_chain_indexed_block', () => new Gauge({ name: 'meshnode_ledger_chain_indexed_block', help: 'Last block the event indexer has indexed', registers })),
    reorgs: get(registry, 'meshnode_ledger_chain_reorgs_total', () => new Counter({ name: 'meshnode_ledger_chain_reorgs_total', help: 'Reorgs the event indexer rolled back', registers }))
  }
}
