/**
 * QCs in and out of a node. Out: the proposer gossips the QC it assembled, as the vote list or, above the BLS
 * threshold, as one aggregate. In: a vote list's votes are opened (those not held yet) and taken as one batch; a QC
 * from the proposer then becomes this node's own (its voters are ones every node holds: votes go to the proposer
 * alone, vote-routing.ts); an aggregate is verified where it can be and kept beside the vote-list QC.
 */
import { ConsensusError } from '../errors.js'
import { GossipValidationError } from '../../common/errors.js'
import { verifyQc } from '../core/qc.js'
import { reachesQuorum } from '../core/weights.js'
import type { Qc } from '../protocol/schemas.js'
import { openConsensusRecord, type OpenedConsensusRecord } from '../protocol/verify.js'
import { heldVotes, heldYesVoters, type Entry } from './entry.js'
import type { Ingest } from './ingest.js'
import type { ConsensusService } from './service.js'
import { ops } from './store.js'

/** QCs in and out of this node (see the module comment). */
export class QcFlow {
  constructor (private readonly s: ConsensusService, private readonly ingest: Ingest) {}

  /** A QC record signed by `signer` (checked by the caller). */
  async take (signer: string, qc: Qc): Promise<void> {
    if (qc.aggregate != null) { await this.checkAggregate(qc).catch(() => {}); return }
    const e = this.ingest.entries.get(qc.proposalId)
    if (e == null) {
      // its proposal not here yet: each vote waits as an orphan
      for (const v of qc.votes) await this.ingest.ingestBytes(v).catch(() => {})
      return
    }
    // a QC repeats votes this node mostly holds already (verified when they arrived): open only the others, together
    const held = heldVotes(e)
    const opened = await Promise.all(qc.votes.filter(v => !held(v)).map(async v => await openConsensusRecord(v, this.s.network).catch(() => undefined)))
    const votes = opened.filter((o): o is OpenedConsensusRecord => o != null)
    // seen now: the same vote on gossip later is a replay
    for (const o of votes) this.ingest.seed(o)
    await this.ingest.takeVotes(e, votes)
    if (signer === e.proposal.proposer) await this.adopt(e, qc)
  }

  /**
   * Take the proposer's QC (its votes already taken in) as this node's own: a QC this node assembled may count its
   * own vote, which went to the proposer alone, and the epoch chain must list voters every node holds.
   */
  private async adopt (e: Entry, qc: Qc): Promise<void> {
    if (e.qcPublic === true || e.status !== 'accepted' || qc.epoch !== e.proposal.snapshot) return
    const voters = heldYesVoters(e, qc.votes)
    if (voters == null) return
    const weights = this.s.electorateOf(e.proposal)
    if (!reachesQuorum(voters.reduce((n, v) => n + (weights.weights.get(v) ?? 0n), 0n), weights.total)) return
    e.qc = { proposalId: e.id, epoch: qc.epoch, votes: [...qc.votes] }
    e.qcVoters = voters
    e.qcPublic = true
    await this.s.write([ops.qc(e.qc)])
  }

  /** Gossip a QC this node assembled: as one BLS aggregate when its voters exceed the threshold and it verifies. */
  async publish (e: Entry, qc: Qc): Promise<void> {
    if (qc.votes.length === 0) return
    const voters = e.qcVoters ?? []
    const aggregate = voters.length > this.s.blsQcThreshold
      ? await this.ingest.bls.aggregate(e.id, voters, this.s.chain.snapshot(e.proposal.snapshot), this.s.electorateOf(e.proposal).weights.keys()).catch(() => undefined)
      : undefined
    await this.s.publish(await this.s.sign('qc', aggregate != null ? { proposalId: qc.proposalId, epoch: qc.epoch, votes: [], aggregate: { voters: [...aggregate.voters], signature: aggregate.signature } } : qc))
  }

  /**
   * Verify an aggregate QC where this node can (its proposal known, every voter's BLS key verified here) and keep it;
   * 'ignore' when it cannot tell, 'reject' when it does not verify.
   */
  async checkAggregate (qc: Qc): Promise<void> {
    const e = this.ingest.entries.get(qc.proposalId)
    if (qc.aggregate == null || this.ingest.bls.get(qc.proposalId) != null) return
    if (e == null || e.proposal.snapshot > this.s.chain.epoch) throw new GossipValidationError('ignore', 'ERR_QC_UNKNOWN', 'aggregate QC of a proposal not known here')
    if (qc.epoch !== e.proposal.snapshot) throw new GossipValidationError('reject', 'ERR_QC', 'aggregate QC names another epoch than its proposal')
    const v = await verifyQc(qc, this.s.chain.snapshot(qc.epoch), {
      verify: () => { throw new ConsensusError('ERR_QC', 'an aggregate QC has no vote list') },
      electorate: this.s.electorateOf(e.proposal).weights.keys(),
      bls: { network: this.s.network, keys: id => this.ingest.bls.ring.get(id) }
    })
    if (v.refused.some(r => r.reason === 'key')) throw new GossipValidationError('ignore', 'ERR_QC_KEYS', 'aggregate QC names voters whose BLS keys are not known here')
    if (!v.ok) throw new GossipValidationError('reject', 'ERR_QC', `aggregate QC does not verify (${v.refused[0]?.reason ?? 'short of 2/3'})`)
    this.ingest.bls.adopt(qc.proposalId, qc.aggregate)
  }
}
