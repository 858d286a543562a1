/**
 * A node's BLS bookkeeping for aggregate QCs: the keys it verified (a `BlsKeyRing`, fed by the bindings votes carry)
 * and the BLS yes signatures of the votes it kept, per proposal; from them, the aggregate QC of a proposal that
 * reached 2/3 with more voters than the threshold. Signatures are not checked one by one on arrival: the aggregate is
 * checked once (one fast aggregate verify) before it is kept, and one that fails is not kept (the vote list stands).
 * Pure: no I/O.
 */
import type { VoteBls, Vote } from '../protocol/schemas.js'
import { BlsKeyRing } from './bls.js'
import { buildQc, verifyQc, type QcAggregate } from './qc.js'
import type { WeightSnapshot } from './weights.js'

/** The BLS side of the votes a node holds (see the module comment). */
export class BlsVotes {
  readonly ring = new BlsKeyRing()
  private readonly yes = new Map<string, Map<string, Uint8Array>>()
  private readonly aggregates = new Map<string, QcAggregate>()
  /** Per voter, one signed yes vote carrying its binding (the first kept): what proves its key to a syncing node. */
  private readonly bindings = new Map<string, Uint8Array>()

  /** @param network the network every vote message binds. @param threshold aggregate QCs of more voters than this. */
  constructor (readonly network: string, readonly threshold: number) {}

  /**
   * Keep a verified vote's BLS yes signature when its binding verifies (bindings: `checkVoteBls` on gossip), and the
   * signed vote (`bytes`) as its voter's binding proof when none is kept yet.
   */
  note (v: Vote & { bls?: VoteBls }, bytes?: Uint8Array): void {
    if (v.bls == null || v.choice !== 'yes' || v.phase != null) return
    const learnt = this.ring.learn(v.voter, v.bls)
    if (learnt !== 'added' && learnt !== 'known') return
    if (bytes != null && !this.bindings.has(v.voter)) this.bindings.set(v.voter, bytes)
    const sigs = this.yes.get(v.proposalId) ?? new Map<string, Uint8Array>()
    sigs.set(v.voter, v.bls.sig)
    this.yes.set(v.proposalId, sigs)
  }

  /**
   * The aggregate of `voters`' yes votes on `proposalId` (`electorate`: the proposal's, under `snapshot`), built and
   * checked once and kept; undefined when there are not more voters than the threshold, one has no BLS signature
   * here, or the aggregate does not verify (a voter signed garbage: the vote list stands).
   */
  async aggregate (proposalId: string, voters: readonly string[], snapshot: WeightSnapshot, electorate: Iterable<string>): Promise<QcAggregate | undefined> {
    const kept = this.aggregates.get(proposalId)
    if (kept != null) return kept
    const sigs = this.yes.get(proposalId)
    if (voters.length <= this.threshold || sigs == null || voters.some(v => !sigs.has(v))) return undefined
    const qc = buildQc(proposalId, snapshot.epoch, voters.map(voter => ({ voter, bytes: new Uint8Array(), bls: sigs.get(voter) })), this.threshold)
    if (qc.aggregate == null) return undefined
    const verdict = await verifyQc(qc, snapshot, { verify: () => { throw new Error('aggregate only') }, electorate, bls: { network: this.network, keys: id => this.ring.get(id) } })
    if (!verdict.ok) return undefined
    this.aggregates.set(proposalId, qc.aggregate)
    return qc.aggregate
  }

  /** Keep an aggregate verified elsewhere (a gossiped QC). */
  adopt (proposalId: string, aggregate: QcAggregate): void {
    if (!this.aggregates.has(proposalId)) this.aggregates.set(proposalId, aggregate)
  }

  /** A signed vote of `voter` that carries its BLS binding, if one is kept. */
  bindingVote (voter: string): Uint8Array | undefined {
    return this.bindings.get(voter)
  }

  /** The aggregate kept for a proposal, if any. */
  get (proposalId: string): QcAggregate | undefined {
    return this.aggregates.get(proposalId)
  }
}
