/**
 * Where this node's votes go, and what it takes from voters straight (the wire is direct-votes.ts): a yes vote goes
 * to the proposer alone and is held here until it is public or moot; the proposer takes such votes in on the stream
 * and gossips the QC (qcs.ts). A node that still holds a proposal open after the fallback delay asks its proposer.
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

/** An open proposal whose proposer this node already asked for its QC. */
const ASKED = -1

/** The node's side of votes straight to proposers (see the module comment); with `fallbackMs` 0, every vote is gossiped. */
export class VoteRouting {
  /** This node's yes votes not gossiped, by proposal id. */
  private readonly held = new Map<string, { bytes: Uint8Array, at: number }>()
  /** Open proposals without a yes vote of this node: when this node first saw each open, or ASKED. */
  private readonly unvoted = new Map<string, number>()

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

  /**
   * On the service's beat (`open`: the proposals pending here): gossip the held votes that must become public, forget
   * the others (`heldVoteFate`), and ask proposers for QCs this node may have missed (`askForQcs`).
   */
  async sweep (now: number, open: readonly Entry[]): Promise<void> {
    this.askForQcs(now, open)
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

  /**
   * A proposal open here without a yes vote of this node (its operator has not voted, it voted no, it has no weight)
   * learns of its QC from one gossip message too, and a node that missed it would hold the proposal open until an
   * epoch lists it (or see it expire). Still open `fallbackMs` after this node first saw it, its proposer is asked once,
   * as for a held vote. The usual QC comes well before: no request then.
   */
  private askForQcs (now: number, open: readonly Entry[]): void {
    if (this.fallbackMs === 0) return // every vote is gossiped: each node tallies the QC itself
    const current = new Set<string>()
    for (const e of open) {
      current.add(e.id)
      if (e.status !== 'pending' || e.proposal.proposer === this.s.peerId) continue
      if ((e.votes.get(this.s.peerId) ?? []).some(v => v.choice === 'yes')) continue // the held vote's fallback asks
      const since = this.unvoted.get(e.id)
      if (since === undefined) { this.unvoted.set(e.id, now); continue }
      if (since === ASKED || now - since < this.fallbackMs) continue
      this.unvoted.set(e.id, ASKED)
      void this.ingest.catchUp.syncFrom(peerIdFromString(e.proposal.proposer)).catch(() => {})
    }
    for (const id of this.unvoted.keys()) if (!current.has(id)) this.unvoted.delete(id)
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
