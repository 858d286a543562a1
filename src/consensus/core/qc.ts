/**
 * Quorum certificate verification: any node checks a QC alone, given the snapshot of the epoch it names and the
 * proposal's electorate. Signature checks are injected (`verify` opens one signed vote envelope, e.g. the protocol's
 * `openVote` on this network), so this stays pure. A vote counts once per voter, only as a signed `yes` on this
 * proposal by an electorate member of positive weight; the QC holds when the counted weight reaches 2/3. Checking
 * stops at the vote that reaches 2/3 (unless `all`): the rest cannot make a valid QC invalid, and each costs a
 * signature check.
 */
import { ConsensusError } from '../errors.js'
import type { VoteChoice } from '../protocol/schemas.js'
import { electorateWeights, quorumOf, reachesQuorum, type WeightSnapshot } from './weights.js'

/** What a verified vote envelope says. */
export interface OpenedVote {
  voter: string
  proposalId: string
  choice: VoteChoice
}

/** Opens and verifies one vote envelope; throws when it does not verify. */
export type VoteVerifier = (bytes: Uint8Array) => Promise<OpenedVote> | OpenedVote

/** A QC as carried: the proposal, the epoch whose weights count it, the signed yes votes. */
export interface QcInput {
  proposalId: string
  epoch: number
  votes: readonly Uint8Array[]
}

/** Why one listed vote did not count. */
export type QcRefusal = 'signature' | 'proposal' | 'choice' | 'duplicate' | 'electorate'

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
}

/**
 * Check a QC under `snapshot` (which must be of the QC's epoch: ERR_EPOCH otherwise). Never throws for bad votes:
 * they are listed in `refused` and do not count.
 */
export async function verifyQc (qc: QcInput, snapshot: WeightSnapshot, opts: QcVerifyOptions): Promise<QcVerdict> {
  if (qc.epoch !== snapshot.epoch) throw new ConsensusError('ERR_EPOCH', `QC of epoch ${qc.epoch} checked under the snapshot of epoch ${snapshot.epoch}`)
  const weights = electorateWeights(snapshot, opts.electorate)
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
    else if (vote.choice !== 'yes') refused.push({ index, reason: 'choice' })
    else if (counted.has(vote.voter)) refused.push({ index, reason: 'duplicate' })
    else if (w === 0n) refused.push({ index, reason: 'electorate' })
    else {
      counted.add(vote.voter)
      yes += w
    }
  }
  return { ok: reachesQuorum(yes, weights.total), yes, quorum: quorumOf(weights.total), total: weights.total, voters: [...counted].sort(), checked: index, refused }
}

/** `verifyQc`, throwing ERR_QC when the QC does not reach 2/3. */
export async function assertQc (qc: QcInput, snapshot: WeightSnapshot, opts: QcVerifyOptions): Promise<QcVerdict> {
  const verdict = await verifyQc(qc, snapshot, opts)
  if (!verdict.ok) throw new ConsensusError('ERR_QC', `QC for ${qc.proposalId} counts ${verdict.yes} of the ${verdict.quorum} needed`)
  return verdict
}
