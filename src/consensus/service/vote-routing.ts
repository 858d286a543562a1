/**
 * Where this node's votes go, and what it takes from voters straight (the wire is direct-votes.ts): a yes vote goes
 * to the proposer alone and is held here until it is public or moot; the proposer takes such votes in on the stream
 * and gossips the QC (qcs.ts).
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { GossipValidationError } from '../../common/errors.js'
import { CONSENSUS_VOTE_PROTOCOL } from '../protocol/topic.js'
import type { VoteChoice } from '../protocol/schemas.js'
import { checkVoteBls, openConsensusRecord } from '../protocol/verify.js'
import { sendDirectVote, serveDirectVote } from './direct-votes.js'
import type { Entry } from './entry.js'
import type { Ingest } from './ingest.js'
import type { ConsensusService } from './service.js'

/** How long a yes vote sent to its proposer alone waits before it may be gossiped too (options: `directVoteFallbackMs`). */
export const DIRECT_VOTE_FALLBACK_MS = 3_000

/** What becomes of a held vote: where its proposal stands here, and how long ago the vote left. */
export interface HeldVoteState {
  ageMs: number
  /** Still open (no QC, not expired or rejected). */
  open: boolean
  /** This node's QC counts this node's vote, and no QC made public by the proposer (or the chain) replaced it. */
  privatelyCounted: boolean
}

/**
 * A held vote waits out the fallback delay; then it is gossiped if its proposal is still open (the proposer may be
 * gone) or only this node's own QC counts it (others could not check that QC's voters), else forgotten (it is in the
 * proposer's QC, or its proposal closed without it mattering).
 */
export function heldVoteFate (s: HeldVoteState | undefined, fallbackMs: number): 'wait' | 'publish' | 'drop' {
  if (s == null) return 'drop'
  if (s.ageMs < fallbackMs) return 'wait'
  return s.open || s.privatelyCounted ? 'publish' : 'drop'
}

/** The node's side of votes straight to proposers (see the module comment); with `fallbackMs` 0, every vote is gossiped. */
export class VoteRouting {
  /** This node's yes votes not gossiped, by proposal id. */
  private readonly held = new Map<string, { bytes: Uint8Array, at: number }>()

  constructor (private readonly s: ConsensusService, private readonly ingest: Ingest, private readonly fallbackMs: number) {}

  async start (): Promise<void> {
    if (this.fallbackMs === 0) return
    await this.s.c.libp2p.handle(CONSENSUS_VOTE_PROTOCOL, (stream, connection) => {
      void serveDirectVote(stream, connection.remotePeer, async (bytes, from) => await this.take(bytes, from.toString()))
    }, { maxInboundStreams: 16 })
  }

  async stop (): Promise<void> {
    if (this.fallbackMs === 0) return
    await this.s.c.libp2p.unhandle(CONSENSUS_VOTE_PROTOCOL).catch(() => {})
  }

  /**
   * Send this node's vote: a yes vote to the proposer alone (the proposer's own stays here), held until public. Gossiped
   * at once: no and abstain votes, votes with a BLS part (an aggregate QC carries no vote list), and a vote whose
   * direct send failed.
   */
  async send (e: Entry, choice: VoteChoice, bls: boolean, bytes: Uint8Array): Promise<void> {
    if (choice !== 'yes' || bls || this.fallbackMs === 0) { await this.s.publish(bytes); return }
    this.held.set(e.id, { bytes, at: this.s.c.clock.now() })
    if (e.proposal.proposer === this.s.peerId) return
    void sendDirectVote(this.s.c.libp2p, peerIdFromString(e.proposal.proposer), CONSENSUS_VOTE_PROTOCOL, bytes)
      .then(async taken => { if (!taken) await this.release(e.id) })
  }

  /** On the service's beat: gossip the held votes that must become public, forget the others (`heldVoteFate`). */
  async sweep (now: number): Promise<void> {
    for (const [id, h] of [...this.held]) {
      const e = this.ingest.entries.get(id)
      const state = e == null
        ? undefined
        : { ageMs: now - h.at, open: e.status === 'pending', privatelyCounted: e.qcPublic !== true && e.epoch == null && (e.qcVoters?.includes(this.s.peerId) ?? false) }
      const fate = heldVoteFate(state, this.fallbackMs)
      if (fate === 'drop') { this.held.delete(id); continue }
      if (fate === 'wait') continue
      await this.release(id)
      // still open here: the proposer's QC may have reached everyone but this node (one gossip message, where the
      // votes were many): ask the proposer for what it holds (the sync's open proposals, with their votes)
      if (e != null && state?.open === true && e.proposal.proposer !== this.s.peerId) {
        void this.ingest.catchUp.syncFrom(peerIdFromString(e.proposal.proposer)).catch(() => {})
      }
    }
  }

  private async release (id: string): Promise<void> {
    const h = this.held.get(id)
    if (h == null) return
    this.held.delete(id)
    await this.s.publish(h.bytes)
  }

  /**
   * A vote sent straight to this node (as its proposal's proposer): checked as gossip would be, except that a repeat
   * is harmless (it may come again by gossip: the replay guard is not told) and the sender must be the voter. True
   * when taken in; false (the voter then gossips it) when refused or its proposal is not known here.
   */
  async take (bytes: Uint8Array, from: string): Promise<boolean> {
    const { c } = this.s
    try {
      const opened = await openConsensusRecord(bytes, this.s.network)
      if (opened.type !== 'vote' || opened.record.signer !== from) throw new GossipValidationError('reject', 'ERR_SIGNER', 'a direct vote must be the sender\'s own vote')
      if (this.ingest.bans.has(from)) return false
      this.s.guard.fresh(opened.record.seq)
      checkVoteBls(opened.record.payload, this.ingest.bls.ring)
      if (!this.ingest.entries.has(opened.record.payload.proposalId)) return false
      c.metrics?.votes.inc({ result: 'direct' })
      await this.ingest.ingest(opened)
      return true
    } catch (err) {
      if (!(err instanceof GossipValidationError) || err.action === 'reject') c.penalties?.penalise(from)
      c.metrics?.votes.inc({ result: 'refused' })
      return false
    }
  }
}
