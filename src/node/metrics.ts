/**
 * One prom-client Registry per node, shared with libp2p's metrics. Names follow `meshnode_<subsystem>_<what>_<unit>`;
 * labels are bounded enums, never peer ids or CIDs.
 */
import { Registry, Counter, Gauge, collectDefaultMetrics } from 'prom-client'
import { conformExposition } from './metrics-exposition.js'

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
  collectDefaultMetrics({ register: registry, prefix: 'meshnode_process_' })
  return {
    registry,
    gossipValidation: new Counter({ name: 'meshnode_gossip_validation_total', help: 'Gossip messages validated, by topic, result and code', labelNames: ['topic', 'result', 'code'], registers: [registry] }),
    peers: new Gauge({ name: 'meshnode_node_peers', help: 'Peers with an open libp2p connection to this node', registers: [registry] }),
    hardwareRecords: new Gauge({ name: 'meshnode_hardware_peer_records', help: 'Verified hardware records held from other peers', registers: [registry] }),
    apiRequests: new Counter({ name: 'meshnode_api_requests_total', help: 'Admin API requests by route and status class', labelNames: ['route', 'status'], registers: [registry] })
  }
}
