/**
 * This node's part in the attempts at the next epoch (the two-phase rule: core/epoch-lock.ts). As a member it prevotes
 * an attempt it judges valid, and votes yes once it holds the attempt's polka (2/3 of the weight prevoted it); as the
 * slot's leader it proposes the next epoch, re-proposing the latest polka's content. A vote being signed counts as
 * cast (signing is async), so two decisions running at once can never break the rule together.
 */
import { ConsensusError } from '../errors.js'
import { mayBack, mayPrevote, reproposal, type EpochAttempt } from '../core/epoch-lock.js'
import { attemptedEpoch } from '../protocol/schemas.js'
import { buildEpochPayload, EPOCH_KIND, judgeEpoch, type EpochPayload } from './epochs.js'
import type { Entry } from './entry.js'
import type { Ingest } from './ingest.js'
import type { ConsensusService } from './service.js'

/** An epoch vote's phase: the prevote, or the yes a QC counts. */
export type EpochPhase = 'prevote' | 'yes'

/** This node's epoch votes and attempts (see the module comment). */
export class EpochRounds {
  /** This node's votes being signed, not yet held on their entries: proposal id -> phases. */
  private readonly signing = new Map<string, Set<EpochPhase>>()

  constructor (private readonly s: ConsensusService, private readonly ingest: Ingest) {}

  /** The attempts at `epoch` held here, this node's votes being signed counted among them. */
  private attempts (epoch: number): EpochAttempt[] {
    const me = this.s.peerId
    return this.s.attempts.of(epoch).map(a => {
      const phases = this.signing.get(a.id)
      if (phases == null) return a
      return { ...a, prevotes: phases.has('prevote') ? [...a.prevotes, me] : a.prevotes, yes: phases.has('yes') ? [...a.yes, me] : a.yes }
    })
  }

  /** Whether the rule lets this node cast `phase` on the attempt `e` now (false when it did already). */
  allows (e: Entry, phase: EpochPhase): boolean {
    const epoch = attemptedEpoch(e.proposal)
    const attempts = epoch == null ? [] : this.attempts(epoch)
    const target = attempts.find(a => a.id === e.id)
    if (target == null) return false
    const weights = this.s.electorateOf(e.proposal)
    if (phase === 'yes') return mayBack(attempts, this.s.peerId, target, weights)
    return !target.prevotes.includes(this.s.peerId) && mayPrevote(attempts, this.s.peerId, target, weights)
  }

  /**
   * Start casting `phase` on `e`: ERR_CLOSED when the rule forbids it; else it counts as cast from now (no await in
   * between) and the returned function ends that once the vote is held on its entry, or was never signed.
   */
  begin (e: Entry, phase: EpochPhase): () => void {
    if (!this.allows(e, phase)) {
      throw new ConsensusError('ERR_CLOSED', phase === 'prevote'
        ? `this node may not prevote ${e.id}: it prevoted in this round or a later one, or is locked on other content`
        : `this node may not vote yes on ${e.id}: no 2/3 of prevotes on it held here, or it voted in a later round`)
    }
    const phases = this.signing.get(e.id) ?? new Set<EpochPhase>()
    phases.add(phase)
    this.signing.set(e.id, phases)
    return () => {
      phases.delete(phase)
      if (phases.size === 0 && this.signing.get(e.id) === phases) this.signing.delete(e.id)
    }
  }

  /** This node's automatic votes on an open attempt: no when it contradicts the chain here, else prevote, then yes. */
  async decide (e: Entry): Promise<void> {
    const verdict = judgeEpoch(e.proposal.payload as EpochPayload, e.proposal.snapshot, this.s.chain, this.ingest)
    if (verdict === 'wait') return
    if (verdict === 'no') { await this.s.castVote(e, 'no'); return }
    if (this.allows(e, 'prevote')) await this.s.castPrevote(e)
    // the prevote may have completed the polka (the yes was cast inside it then), or the polka was held before
    if (!e.votes.has(this.s.peerId) && !this.s.isCasting(e.id) && this.allows(e, 'yes')) await this.s.castVote(e, 'yes')
  }

  /** On the beat: lead the slot's attempt at the next epoch when it is this node's turn and none is open. */
  async maybePropose (now: number, open: readonly Entry[]): Promise<void> {
    const { epochIntervalMs, epochTtlMs, genesis } = this.s.init
    const { chain } = this.s
    if (now < chain.lastAt + epochIntervalMs) return
    if (open.some(e => e.proposal.kind === EPOCH_KIND && e.proposal.snapshot === chain.epoch && now < e.proposal.expiresAt + this.s.init.recordMaxSkewMs)) return
    const slot = Math.floor((now - genesis.startedAt) / epochIntervalMs)
    // lead in the first half of the slot only: the next slot's leader then holds this attempt before its own turn, so
    // two attempts rarely run at once (a member prevotes once per round: two at once split the prevotes)
    if (chain.leader(slot) !== this.s.peerId || now - genesis.startedAt - slot * epochIntervalMs >= epochIntervalMs / 2) return
    // re-propose the latest polka's content it would vote for (members locked on it can finish), else build fresh
    const epoch = chain.epoch + 1
    const judge = (content: string): boolean => {
      const x = this.s.attempts.find(epoch, content)
      return x != null && judgeEpoch(x.proposal.payload as EpochPayload, chain.epoch, chain, this.ingest) === 'yes'
    }
    const again = reproposal(this.attempts(epoch), epoch, chain.electorate(), judge)
    const prior = again != null ? this.s.attempts.find(epoch, again) : undefined
    const payload = prior != null ? prior.proposal.payload as EpochPayload : buildEpochPayload(chain, this.ingest)
    await this.s.propose({ kind: EPOCH_KIND, payload, proposer: this.s.peerId, createdAt: now, expiresAt: now + epochTtlMs, snapshot: chain.epoch })
    const e = [...this.ingest.entries.values()].find(x => x.proposal.kind === EPOCH_KIND && x.proposal.createdAt === now && x.proposal.proposer === this.s.peerId)
    if (e != null) await this.s.decide(e)
  }
}
