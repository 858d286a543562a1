/**
 * Quorum certificate verification: any node checks a QC alone, given the snapshot of the epoch it names and the
 * proposal's electorate. Signature checks are injected (`verify` opens one signed vote envelope, e.g. the protocol's
 * `openVote` on this network), so this stays pure. A vote counts once per voter, only as a signed `yes` on this
 * proposal by an electorate member of positive weight; the QC holds when the counted weight reaches 2/3. Checking
 * stops at the vote that reaches 2/3 (unless `all`): the rest cannot make a valid QC invalid, and each costs a
 * signature check.
 *
 * A QC has one of two forms. The **vote list** (Ed25519 envelopes, as above) suits small electorates. The
 * **aggregate** (bls.ts) is `{ voters, signature }`: the voters as a sorted peer-id list and one BLS signature, the
 * aggregate of every voter's signature over the proposal's yes message; it costs one fast aggregate verify however
 * many voters it lists, over keys whose proofs of possession were checked when they were learned (`bls.keys`). An
 * aggregate is all or nothing: every listed voter must be a member with a verified key, listed once, in order.
 */
import type { PublicKey } from '@chainsafe/blst'
import { ConsensusError } from '../errors.js'
import type { VoteChoice } from '../protocol/schemas.js'
import { aggregateBlsSignatures, blsVoteMessage, verifyBlsAggregate } from './bls.js'
import { electorateWeights, quorumOf, reachesQuorum, type ElectorateWeights, type WeightSnapshot } from './weights.js'

/** What a verified vote envelope says. */
export interface OpenedVote {
  voter: string
  proposalId: string
  choice: VoteChoice
  /** An epoch attempt's first-phase vote (core/epoch-lock.ts): never counted in a QC. */
  prevote?: boolean
}

/** Opens and verifies one vote envelope; throws when it does not verify. */
export type VoteVerifier = (bytes: Uint8Array) => Promise<OpenedVote> | OpenedVote

/** The aggregate form's body: the voters, sorted, and the aggregate of their BLS yes signatures. */
export interface QcAggregate {
  voters: readonly string[]
  signature: Uint8Array
}

/**
 * A QC as carried: the proposal, the epoch whose weights count it, and either the signed yes votes (`votes`) or,
 * with `votes` empty, an `aggregate`.
 */
export interface QcInput {
  proposalId: string
  epoch: number
  votes: readonly Uint8Array[]
  aggregate?: QcAggregate
}

/**
 * Why one listed vote (or, in an aggregate, one listed voter) did not count. Aggregate only: 'key' (no verified BLS
 * key for the voter), 'aggregate' (the signature does not verify; index -1), 'form' (both forms or neither; index -1).
 * In an aggregate, 'duplicate' also covers a voter out of sorted order.
 */
export type QcRefusal = 'signature' | 'proposal' | 'choice' | 'duplicate' | 'electorate' | 'key' | 'aggregate' | 'form'

/** The outcome of checking a QC. */
export interface QcVerdict {
  ok: boolean
  yes: bigint
  quorum: bigint
  total: bigint
  /** The voters counted, sorted. */
  voters: string[]
  /** How many listed votes were checked (all of them, or up to the one that reached 2/3). */
  checked: number
  refused: Array<{ index: number, reason: QcRefusal }>
}

/** How to check a QC: the signature check, the proposal's electorate (default: the snapshot's members), `all`. */
export interface QcVerifyOptions {
  verify: VoteVerifier
  electorate?: Iterable<string>
  /** Check every listed vote, even past 2/3 (to report every refusal). */
  all?: boolean
  /** For aggregates: the network (it is in the signed message) and the verified BLS keys (e.g. a `BlsKeyRing`). */
  bls?: { network: string, keys: (peerId: string) => PublicKey | undefined }
}

/**
 * Check a QC under `snapshot` (which must be of the QC's epoch: ERR_EPOCH otherwise). Never throws for bad votes:
 * they are listed in `refused` and do not count.
 */
export async function verifyQc (qc: QcInput, snapshot: WeightSnapshot, opts: QcVerifyOptions): Promise<QcVerdict> {
  if (qc.epoch !== snapshot.epoch) throw new ConsensusError('ERR_EPOCH', `QC of epoch ${qc.epoch} checked under the snapshot of epoch ${snapshot.epoch}`)
  const weights = electorateWeights(snapshot, opts.electorate)
  if (qc.aggregate != null || qc.votes.length === 0) return verifyAggregate(qc, weights, opts)
  const counted = new Set<string>()
  const refused: QcVerdict['refused'] = []
  let yes = 0n
  let index = 0
  for (; index < qc.votes.length; index++) {
    if (opts.all !== true && reachesQuorum(yes, weights.total)) break
    let vote: OpenedVote
    try {
      vote = await opts.verify(qc.votes[index])
    } catch {
      refused.push({ index, reason: 'signature' })
      continue
    }
    const w = weights.weights.get(vote.voter) ?? 0n
    if (vote.proposalId !== qc.proposalId) refused.push({ index, reason: 'proposal' })
    else if (vote.choice !== 'yes' || vote.prevote === true) refused.push({ index, reason: 'choice' })
    else if (counted.has(vote.voter)) refused.push({ index, reason: 'duplicate' })
    else if (w === 0n) refused.push({ index, reason: 'electorate' })
    else {
      counted.add(vote.voter)
      yes += w
    }
  }
  return { ok: reachesQuorum(yes, weights.total), yes, quorum: quorumOf(weights.total), total: weights.total, voters: [...counted].sort(), checked: index, refused }
}

function verifyAggregate (qc: QcInput, weights: ElectorateWeights, opts: QcVerifyOptions): QcVerdict {
  const verdict = (yes: bigint, refused: QcVerdict['refused'], voters: string[] = []): QcVerdict => ({
    ok: refused.length === 0 && reachesQuorum(yes, weights.total),
    yes: refused.length === 0 ? yes : 0n,
    quorum: quorumOf(weights.total),
    total: weights.total,
    voters: refused.length === 0 ? voters : [],
    checked: qc.aggregate?.voters.length ?? 0,
    refused
  })
  const agg = qc.aggregate
  if (agg == null || qc.votes.length > 0) return verdict(0n, [{ index: -1, reason: 'form' }])
  const refused: QcVerdict['refused'] = []
  const keys: PublicKey[] = []
  let yes = 0n
  agg.voters.forEach((voter, index) => {
    const w = weights.weights.get(voter) ?? 0n
    const key = opts.bls?.keys(voter)
    if (index > 0 && voter <= agg.voters[index - 1]) refused.push({ index, reason: 'duplicate' })
    else if (w === 0n) refused.push({ index, reason: 'electorate' })
    else if (key == null) refused.push({ index, reason: 'key' })
    else {
      keys.push(key)
      yes += w
    }
  })
  // the weight is known before the pairing: a QC short of 2/3 (or with a refused voter) costs no signature check
  if (refused.length > 0 || !reachesQuorum(yes, weights.total) || opts.bls == null) return verdict(yes, refused, [...agg.voters])
  const message = blsVoteMessage(opts.bls.network, qc.proposalId, 'yes')
  if (!verifyBlsAggregate(message, keys, agg.signature)) return verdict(0n, [{ index: -1, reason: 'aggregate' }])
  return verdict(yes, [], [...agg.voters])
}

/** A yes vote as a QC builder holds it: the voter, its signed envelope and, when it carries one, its BLS signature. */
export interface QcVote {
  voter: string
  bytes: Uint8Array
  bls?: Uint8Array
}

/**
 * Build a QC from counted yes votes (one per voter, all verified): the aggregate form when there are more than
 * `threshold` voters and every one signed with BLS, else the vote list.
 */
export function buildQc (proposalId: string, epoch: number, votes: readonly QcVote[], threshold: number): QcInput {
  const sorted = [...votes].sort((a, b) => a.voter < b.voter ? -1 : a.voter > b.voter ? 1 : 0)
  const blsSigs = sorted.flatMap(v => v.bls != null ? [v.bls] : [])
  if (sorted.length > threshold && blsSigs.length === sorted.length) {
    return { proposalId, epoch, votes: [], aggregate: { voters: sorted.map(v => v.voter), signature: aggregateBlsSignatures(blsSigs) } }
  }
  return { proposalId, epoch, votes: votes.map(v => v.bytes) }
}

/** `verifyQc`, throwing ERR_QC when the QC does not reach 2/3. */
export async function assertQc (qc: QcInput, snapshot: WeightSnapshot, opts: QcVerifyOptions): Promise<QcVerdict> {
  const verdict = await verifyQc(qc, snapshot, opts)
  if (!verdict.ok) throw new ConsensusError('ERR_QC', `QC for ${qc.proposalId} counts ${verdict.yes} of the ${verdict.quorum} needed`)
  return verdict
}
