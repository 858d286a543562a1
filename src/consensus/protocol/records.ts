/**
 * The consensus records as signed envelopes: the `RecordSpec` each is opened with (through src/protocols/record.ts),
 * and how to sign one. Every spec is made per network, because every domain binds the network
 * (`consensusDomain`): a record signed for another network never verifies here.
 */
import type { PrivateKey } from '@libp2p/interface'
import type { TSchema, Static } from '@sinclair/typebox'
import { signRecord } from '../../protocols/envelope.js'
import { schemaParser, type RecordSpec } from '../../protocols/record.js'
import { checkEvidence, checkProposal, checkQc, checkVeto, checkVote } from './checks.js'
import { cidOf } from './canonical.js'
import {
  CONSENSUS_RECORD_VERSION, EvidenceSchema, MAX_EVIDENCE_BYTES, MAX_PROPOSAL_BYTES, MAX_QC_BYTES, MAX_VETO_BYTES,
  MAX_VOTE_BYTES, ProposalSchema, QcSchema, VetoSchema, VoteSchema, type Evidence, type Proposal, type Qc, type Veto,
  type Vote
} from './schemas.js'
import { consensusDomain, type ConsensusRecordType } from './topic.js'

/** The specs of every consensus record on one network. */
export interface ConsensusRecordSpecs {
  proposal: RecordSpec<Proposal>
  vote: RecordSpec<Vote>
  qc: RecordSpec<Qc>
  evidence: RecordSpec<Evidence>
  veto: RecordSpec<Veto>
}

function spec<S extends TSchema> (type: ConsensusRecordType, network: string, maxBytes: number, schema: S, rules: (p: Static<S>, signer: string) => void): RecordSpec<Static<S>> {
  return {
    name: `consensus ${type}`,
    domain: consensusDomain(type, network),
    version: CONSENSUS_RECORD_VERSION,
    maxBytes,
    parse: schemaParser(`consensus ${type}`, schema, rules)
  }
}

const cache = new Map<string, ConsensusRecordSpecs>()

/** The record specs of `network` (memoised: the schema compilers are built once per network). */
export function consensusRecordSpecs (network: string): ConsensusRecordSpecs {
  let specs = cache.get(network)
  if (specs == null) {
    specs = {
      proposal: spec('proposal', network, MAX_PROPOSAL_BYTES, ProposalSchema, checkProposal),
      vote: spec('vote', network, MAX_VOTE_BYTES, VoteSchema, (v, signer) => { checkVote(v, signer, network) }),
      qc: spec('qc', network, MAX_QC_BYTES, QcSchema, (qc) => { checkQc(qc) }),
      evidence: spec('evidence', network, MAX_EVIDENCE_BYTES, EvidenceSchema, (e) => { checkEvidence(e) }),
      veto: spec('veto', network, MAX_VETO_BYTES, VetoSchema, checkVeto)
    }
    cache.set(network, specs)
  }
  return specs
}

/** The fields a proposal's id covers (what a signed proposal says, without its envelope). */
export function proposalContent (p: Proposal): Proposal {
  return { kind: p.kind, payload: p.payload, proposer: p.proposer, createdAt: p.createdAt, expiresAt: p.expiresAt, snapshot: p.snapshot }
}

/** A proposal's id: the CID of its canonical encoding (the same content has the same id however it was signed). */
export function proposalId (p: Proposal): string {
  return cidOf(proposalContent(p))
}

/** Sign one consensus record of `type` on `network`; `seq` comes from the node's SeqSource. */
export async function signConsensusRecord<K extends keyof ConsensusRecordSpecs> (
  privateKey: PrivateKey, network: string, type: K, seq: number,
  payload: ConsensusRecordSpecs[K] extends RecordSpec<infer T> ? T : never
): Promise<Uint8Array> {
  return await signRecord(privateKey, consensusDomain(type, network), CONSENSUS_RECORD_VERSION, seq, payload)
}
