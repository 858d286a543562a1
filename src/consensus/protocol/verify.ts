/**
 * Opening consensus records whose checks need more than their own envelope: a vote as a QC member, equivocation
 * evidence (two votes, with two proposals for a double-back), and any record off the topic (dispatched by its domain). All signature checks go through
 * src/protocols/record.ts.
 */
import { decode } from 'cborg'
import { GossipValidationError } from '../../common/errors.js'
import type { SignedRecord } from '../../protocols/envelope.js'
import { openGossipRecord, openSignedRecord, type RecordSpec } from '../../protocols/record.js'
import type { ReplayGuard } from '../../protocols/replay.js'
import { consensusRecordSpecs, type ConsensusRecordSpecs } from './records.js'
import { attemptedEpoch, type Evidence, type Vote } from './schemas.js'
import { cidOf } from './canonical.js'
import { proposalId } from './records.js'
import { consensusDomain, type ConsensusRecordType } from './topic.js'
import type { BlsKeyRing } from '../core/bls.js'

/** Open a signed vote of `network` (schema, signer = voter, network binding). */
export async function openVote (bytes: Uint8Array, network: string): Promise<SignedRecord<Vote>> {
  return await openSignedRecord(bytes, consensusRecordSpecs(network).vote)
}

/**
 * Check a vote's optional BLS part against `ring` (the BLS keys verified here): its key's proof of possession for
 * the voter (checked once per peer) and, the first time, its binding; a key other than the one its voter bound before
 * is refused (keys are derived from identities: an honest voter has one). The BLS signature itself is checked where
 * it is used, inside an aggregate (one pairing for all of them). Throws GossipValidationError ERR_BLS ('reject').
 */
export function checkVoteBls (v: Vote, ring: BlsKeyRing): void {
  if (v.bls == null) return
  const learnt = ring.learn(v.voter, { key: v.bls.key, pop: v.bls.pop })
  if (learnt === 'invalid') throw new GossipValidationError('reject', 'ERR_BLS', 'vote BLS key has no valid proof of possession for its voter')
  if (learnt === 'conflict') throw new GossipValidationError('reject', 'ERR_BLS', 'vote BLS key is not the one its voter bound before')
}

/**
 * Verify equivocation evidence: both votes verify on `network`, have one voter and one phase (two votes, or two
 * prevotes); then either they are on one proposal and differ in choice, or (a double-back) both are yes on two epoch
 * proposals, carried in `proposals` and verified too, for the same epoch and round (createdAt) with different content
 * (core/epoch-lock.ts: once per round). Returns the voter, the proposal the evidence is counted under (a double-back:
 * the smaller of the two ids, so either order names it alike) and the two opened votes; throws GossipValidationError
 * ERR_EVIDENCE otherwise.
 */
export async function verifyEvidence (e: Evidence, network: string): Promise<{ voter: string, proposalId: string, first: SignedRecord<Vote>, second: SignedRecord<Vote> }> {
  const first = await openVote(e.first, network)
  const second = await openVote(e.second, network)
  if (first.signer !== second.signer) throw evidenceError('evidence votes have two voters')
  if (first.payload.phase !== second.payload.phase) throw evidenceError('evidence votes are of two phases')
  if (first.payload.proposalId === second.payload.proposalId) {
    if (e.proposals != null) throw evidenceError('evidence on one proposal carries proposals')
    if (first.payload.choice === second.payload.choice) throw evidenceError('evidence votes do not conflict')
    return { voter: first.signer, proposalId: first.payload.proposalId, first, second }
  }
  if (e.proposals == null) throw evidenceError('evidence votes are on two proposals')
  if (first.payload.choice !== 'yes' || second.payload.choice !== 'yes') throw evidenceError('double-back evidence needs two yes votes')
  const spec = consensusRecordSpecs(network).proposal
  const [a, b] = await Promise.all(e.proposals.map(async bytes => (await openSignedRecord(bytes, spec)).payload))
  if (proposalId(a) !== first.payload.proposalId || proposalId(b) !== second.payload.proposalId) throw evidenceError('double-back evidence proposals are not the ones voted on')
  const epoch = attemptedEpoch(a)
  if (epoch == null || epoch !== attemptedEpoch(b)) throw evidenceError('double-back evidence proposals are not epoch proposals for one epoch')
  if (a.createdAt !== b.createdAt) throw evidenceError('double-back evidence proposals are of two rounds')
  if (cidOf(a.payload) === cidOf(b.payload)) throw evidenceError('double-back evidence proposals have the same content')
  const ids = [first.payload.proposalId, second.payload.proposalId].sort()
  return { voter: first.signer, proposalId: ids[0], first, second }
}

const evidenceError = (msg: string): GossipValidationError => new GossipValidationError('reject', 'ERR_EVIDENCE', msg)

/** A consensus record opened off the topic or a stream, tagged with its type. */
export type OpenedConsensusRecord = {
  [K in keyof ConsensusRecordSpecs]: { type: K, record: SignedRecord<ConsensusRecordSpecs[K] extends RecordSpec<infer T> ? T : never> }
}[keyof ConsensusRecordSpecs]

const TYPES: ConsensusRecordType[] = ['proposal', 'vote', 'qc', 'evidence', 'veto']

/** The record type an envelope claims by its domain on `network` (unverified; undefined when none matches). */
export function peekRecordType (bytes: Uint8Array, network: string): ConsensusRecordType | undefined {
  let d: unknown
  try {
    const env: unknown = decode(bytes)
    d = env != null && typeof env === 'object' ? (env as { d?: unknown }).d : undefined
  } catch {
    return undefined
  }
  return TYPES.find(t => consensusDomain(t, network) === d)
}

/**
 * Open any consensus record of `network`: with `gossip` (the peer that forwarded it and the replay guard) as gossip, else as
 * a record read from disk or the sync stream. A domain of no consensus record here (another network, another
 * topic) is ignored (ERR_DOMAIN), never punished as a protocol violation of ours.
 */
export async function openConsensusRecord (bytes: Uint8Array, network: string, gossip?: { source: string, guard: ReplayGuard }): Promise<OpenedConsensusRecord> {
  const type = peekRecordType(bytes, network)
  if (type === undefined) throw new GossipValidationError('ignore', 'ERR_DOMAIN', `not a consensus record of network ${network}`)
  const specs = consensusRecordSpecs(network)
  const open = async <T>(s: RecordSpec<T>): Promise<SignedRecord<T>> =>
    gossip != null ? await openGossipRecord(bytes, gossip.source, gossip.guard, s) : await openSignedRecord(bytes, s)
  switch (type) {
    case 'proposal': return { type, record: await open(specs.proposal) }
    case 'vote': return { type, record: await open(specs.vote) }
    case 'qc': return { type, record: await open(specs.qc) }
    case 'evidence': return { type, record: await open(specs.evidence) }
    case 'veto': return { type, record: await open(specs.veto) }
  }
}
