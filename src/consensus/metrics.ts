/** Consensus metrics (`meshnode_consensus_*`) on the node's prom-client Registry; labels are bounded enums. */
import { Counter, Gauge, type Registry } from 'prom-client'

export interface ConsensusMetrics {
  proposals: Counter<'status'>
  votes: Counter<'result'>
  epoch: Gauge
  evidence: Counter
  syncs: Counter<'result'>
  /** Accepted proposals put into the blockstore (`stored`) or not (`failed`); absent where not created. */
  archive?: Counter<'result'>
  /** Records pruned from the state store, by record (`proposal`, `vote`, `veto`); absent where not created. */
  pruned?: Counter<'record'>
}

function get<T> (registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make()
}

/** Create (or reuse, when already registered on this registry) the consensus metrics. */
export function createConsensusMetrics (registry: Registry): ConsensusMetrics {
  const registers = [registry]
  return {
    proposals: get(registry, 'meshnode_consensus_proposals_total', () => new Counter({ name: 'meshnode_consensus_proposals_total', help: 'Proposals that reached a final status here', labelNames: ['status'], registers })),
    votes: get(registry, 'meshnode_consensus_votes_total', () => new Counter({ name: 'meshnode_consensus_votes_total', help: 'Votes received, counted or refused', labelNames: ['result'], registers })),
    epoch: get(registry, 'meshnode_consensus_epoch', () => new Gauge({ name: 'meshnode_consensus_epoch', help: 'The last finalized epoch of the chain', registers })),
    evidence: get(registry, 'meshnode_consensus_evidence_total', () => new Counter({ name: 'meshnode_consensus_evidence_total', help: 'Equivocation evidence verified here', registers })),
    syncs: get(registry, 'meshnode_consensus_syncs_total', () => new Counter({ name: 'meshnode_consensus_syncs_total', help: 'Sync exchanges with peers, by result', labelNames: ['result'], registers })),
    archive: get(registry, 'meshnode_consensus_archive_total', () => new Counter({ name: 'meshnode_consensus_archive_total', help: 'Accepted proposals put into the blockstore, by result', labelNames: ['result'], registers })),
    pruned: get(registry, 'meshnode_consensus_pruned_total', () => new Counter({ name: 'meshnode_consensus_pruned_total', help: 'Records pruned from the state store, by record', labelNames: ['record'], registers }))
  }
}
