/**
 * One prom-client Registry per node, shared with libp2p's metrics. Names follow `meshnode_<subsystem>_<what>_<unit>`;
 * labels are bounded enums, never peer ids or CIDs.
 */
import { Registry, Counter, Gauge, collectDefaultMetrics } from 'prom-client'
import { conformExposition } from './metrics-exposition.js'
import { PROM_CLIENT_MONITOR_PRECISION_MS, eventLoopLagMetrics } from './metrics-event-loop.js'

const PROCESS_PREFIX = 'meshnode_process_'

/**
 * The node's registry: its text exposition follows Prometheus's naming rules whatever libp2p registers on it
 * (see metrics-exposition.ts), so `promtool check metrics` on `/metrics` reports nothing.
 */
export class NodeRegistry extends Registry {
  override async metrics (): Promise<string> {
    return conformExposition(await super.metrics())
  }
}

/** The node registry and the node-level metrics (subsystems create theirs on the same registry). */
export interface NodeMetrics {
  registry: Registry
  gossipValidation: Counter<'topic' | 'result' | 'code'>
  peers: Gauge
  hardwareRecords: Gauge
  apiRequests: Counter<'route' | 'status'>
}

/** Create the node's registry with process metrics and the node-level metrics. */
export function createNodeMetrics (): NodeMetrics {
  const registry = new NodeRegistry()
  // prom-client's event-loop monitor wakes every 10 ms in every daemon: it is replaced by a coarser one whose gauges
  // subtract their resolution (metrics-event-loop.ts); its own then wakes only every 10 s, its readings unexported
  collectDefaultMetrics({ register: registry, prefix: PROCESS_PREFIX, eventLoopMonitoringPrecision: PROM_CLIENT_MONITOR_PRECISION_MS })
  eventLoopLagMetrics(registry, PROCESS_PREFIX)
  return {
    registry,
    gossipValidation: new Counter({ name: 'meshnode_gossip_validation_total', help: 'Gossip messages validated, by topic, result and code', labelNames: ['topic', 'result', 'code'], registers: [registry] }),
    peers: new Gauge({ name: 'meshnode_node_peers', help: 'Peers with an open libp2p connection to this node', registers: [registry] }),
    hardwareRecords: new Gauge({ name: 'meshnode_hardware_peer_records', help: 'Verified hardware records held from other peers', registers: [registry] }),
    apiRequests: new Counter({ name: 'meshnode_api_requests_total', help: 'Admin API requests by route and status class', labelNames: ['route', 'status'], registers: [registry] })
  }
}
