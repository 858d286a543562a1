/**
 * The cross-field rules of each consensus record, after its schema passed. Pure; each throws GossipValidationError
 * ('reject': a well-behaved peer never sends such a record). `signer` is the envelope's verified signer.
 */
import { GossipValidationError } from '../../common/errors.js'
import { canonicalBytes } from './canonical.js'
import { MAX_PROPOSAL_TTL_MS, type Evidence, type Proposal, type Qc, type Veto, type Vote } from './schemas.js'

/**
 * The proposer signs its own proposal, the proposal is open for a positive time of at most the TTL cap, and its
 * payload has a canonical encoding (no undefined, NaN or Infinity: its id must be computable on every node).
 */
export function checkProposal (p: Proposal, signer: string): void {
  if (p.proposer !== signer) throw new GossipValidationError('reject', 'ERR_SIGNER', 'proposal proposer is not its signer')
  if (p.expiresAt <= p.createdAt) throw new GossipValidationError('reject', 'ERR_BOUNDS', 'proposal expires before it is created')
  if (p.expiresAt - p.createdAt > MAX_PROPOSAL_TTL_MS) throw new GossipValidationError('reject', 'ERR_BOUNDS', 'proposal is open longer than the TTL cap')
  try {
    canonicalBytes(p.payload)
  } catch (err) {
    throw new GossipValidationError('reject', 'ERR_CANONICAL', 'proposal payload has no canonical encoding', { cause: err })
  }
}

/** The voter signs its own vote, for this network (the domain binds it too; the payload says it again); a prevote is yes. */
export function checkVote (v: Vote, signer: string, network: string): void {
  if (v.voter !== signer) throw new GossipValidationError('reject', 'ERR_SIGNER', 'vote voter is not its signer')
  if (v.network !== network) throw new GossipValidationError('reject', 'ERR_NETWORK', 'vote was cast on another network')
  if (v.phase === 'prevote' && (v.choice !== 'yes' || v.bls != null)) throw new GossipValidationError('reject', 'ERR_PHASE', 'a prevote is a plain yes')
}

/**
 * One form: a non-empty vote list with no envelope twice, or an aggregate (and no votes) whose voters are sorted and
 * distinct. The votes and the aggregate signature are verified against the snapshot by `verifyQc`.
 */
export function checkQc (qc: Qc): void {
  if (qc.aggregate != null) {
    if (qc.votes.length > 0) throw new GossipValidationError('reject', 'ERR_QC_FORM', 'QC carries both a vote list and an aggregate')
    const voters = qc.aggregate.voters
    for (let i = 1; i < voters.length; i++) {
      if (voters[i] <= voters[i - 1]) throw new GossipValidationError('reject', 'ERR_DUPLICATE', 'aggregate QC voters are not sorted and distinct')
    }
    return
  }
  if (qc.votes.length === 0) throw new GossipValidationError('reject', 'ERR_QC_FORM', 'QC carries neither votes nor an aggregate')
  const seen = new Set<string>()
  for (const v of qc.votes) {
    const key = Buffer.from(v).toString('base64')
    if (seen.has(key)) throw new GossipValidationError('reject', 'ERR_DUPLICATE', 'QC lists a vote twice')
    seen.add(key)
  }
}

/** The two votes are different envelopes (their signatures and conflict are checked by `verifyEvidence`). */
export function checkEvidence (e: Evidence): void {
  if (Buffer.from(e.first).equals(Buffer.from(e.second))) throw new GossipValidationError('reject', 'ERR_EVIDENCE', 'evidence repeats one vote')
}

/** The guardian signs its own veto (whether it is a configured guardian is the tally's question). */
export function checkVeto (v: Veto, signer: string): void {
  if (v.guardian !== signer) throw new GossipValidationError('reject', 'ERR_SIGNER', 'veto guardian is not its signer')
}
