/** Market metrics (`meshnode_market_*`) on the node's prom-client Registry. Labels are bounded enums. */
import { Counter, Gauge, type Registry } from 'prom-client'

/** The market metrics, injected into the market service. */
export interface MarketMetrics {
  /** Orders resting in this node's books, by market (set after each re-validation pass). */
  orders: Gauge<'market'>
  /** Orders refused, by reason and where they came from (gossip, sync, api). */
  refusals: Counter<'reason' | 'via'>
  /** Orders taken out of the books, by reason (expired, filled, cancelled, lane-stale, unfunded). */
  removed: Counter<'reason'>
  /** This node's fills, by result (done, or the refusal reason). */
  fills: Counter<'result'>
}

function get<T> (registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make()
}

/** Create (or reuse, when already registered on this registry) the market metrics. */
export function createMarketMetrics (registry: Registry): MarketMetrics {
  const registers = [registry]
  return {
    orders: get(registry, 'meshnode_market_orders', () => new Gauge({ name: 'meshnode_market_orders', help: 'Orders resting in this node\'s books, by market', labelNames: ['market'], registers })),
    refusals: get(registry, 'meshnode_market_refusals_total', () => new Counter({ name: 'meshnode_market_refusals_total', help: 'Orders refused, by reason and source', labelNames: ['reason', 'via'], registers })),
    removed: get(registry, 'meshnode_market_removed_total', () => new Counter({ name: 'meshnode_market_removed_total', help: 'Orders taken out of the books, by reason', labelNames: ['reason'], registers })),
    fills: get(registry, 'meshnode_market_fills_total', () => new Counter({ name: 'meshnode_market_fills_total', help: 'This node\'s fills, by result', labelNames: ['result'], registers }))
  }
}
