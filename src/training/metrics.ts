/**
 * Training metrics (`meshnode_training_*`) on the node's prom-client Registry. Labels are bounded enums: never job
 * ids, peer ids or CIDs (the gauges describe the latest accepted round of any job).
 */
import { Counter, Gauge, type Registry } from 'prom-client'

export interface TrainingMetrics {
  rounds: Counter<'result'>
  rejected: Counter<'code'>
  accuracy: Gauge
  bytes: Counter<'direction'>
  roundSeconds: Gauge
  penalties: Counter<'reason'>
}

function get<T> (registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make()
}

/** Create (or reuse, when already registered on this registry) the training metrics. */
export function createTrainingMetrics (registry: Registry): TrainingMetrics {
  const registers = [registry]
  return {
    rounds: get(registry, 'meshnode_training_rounds_total', () => new Counter({ name: 'meshnode_training_rounds_total', help: 'Rounds accepted by this node', labelNames: ['result'], registers })),
    rejected: get(registry, 'meshnode_training_deltas_rejected_total', () => new Counter({ name: 'meshnode_training_deltas_rejected_total', help: 'Deltas refused before aggregation, by reason', labelNames: ['code'], registers })),
    accuracy: get(registry, 'meshnode_training_accuracy_ratio', () => new Gauge({ name: 'meshnode_training_accuracy_ratio', help: 'Held-out accuracy of the latest accepted model (any job)', registers })),
    bytes: get(registry, 'meshnode_training_bytes_total', () => new Counter({ name: 'meshnode_training_bytes_total', help: 'Training bytes stored for peers (sent) and fetched (received)', labelNames: ['direction'], registers })),
    penalties: get(registry, 'meshnode_training_penalties_total', () => new Counter({ name: 'meshnode_training_penalties_total', help: 'Peers penalised by the round protocol, by reason', labelNames: ['reason'], registers })),
    roundSeconds: get(registry, 'meshnode_training_round_duration_seconds', () => new Gauge({ name: 'meshnode_training_round_duration_seconds', help: 'Duration of the latest accepted round (any job)', registers }))
  }
}
