/**
 * The consensus protocol's wire names. They are part of the wire format: changing any string splits the mesh (a topic
 * nobody else listens to, signatures nobody else verifies).
 */
import { protocolId, topicName } from '../../protocols/topics.js'

/** The gossip topic proposals, votes, QCs, evidence and vetoes travel on. */
export const CONSENSUS_TOPIC = topicName('consensus', 1)

/** The stream protocol a node that was away fetches finalized records with (by epoch, then by id). */
export const CONSENSUS_SYNC_PROTOCOL = protocolId('consensus-sync', '1.0.0')

/** The stream protocol a voter sends its yes vote to the proposer on (service/direct-votes.ts). */
export const CONSENSUS_VOTE_PROTOCOL = protocolId('consensus-vote', '1.0.0')

/** The consensus records, each signed under its own domain. */
export type ConsensusRecordType = 'proposal' | 'vote' | 'qc' | 'evidence' | 'veto'

/**
 * The signing domain of one record type on one network: `meshnode/consensus-<type>/<network>`. Binding the network
 * into the domain means a vote (or any consensus record) signed for another network never verifies here.
 */
export function consensusDomain (type: ConsensusRecordType, network: string): string {
  return `meshnode/consensus-${type}/${network}`
}
