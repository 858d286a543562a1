/**
 * The machine's state with the helpers every step shares: who takes part, who seals, and the actions that publish,
 * vote and penalise. Internal to src/training/round.
 */
import { compareIds } from '../core/aggregate.js'
import { selectAggregator } from '../core/round-timing.js'
import type { ReputationView, SealBallot, SealRef } from '../../consensus/index.js'
import { TRAINING_LIMITS, type JobSpec, type RoundSeal, type SealVote, type TrainingMessage } from '../protocol/messages.js'
import type { JobAction, JobMachineState, PenaltyReason, RoundAcceptance, RoundState, SealEntry } from './types.js'

/** The acceptance reference of a seal. */
export const refOf = (s: RoundSeal): SealRef => ({ jobId: s.jobId, round: s.round, attempt: s.attempt, aggregateCid: s.aggregateCid })

/** Bound on the votes we remember casting in one round (one per seal we judged). */
const MAX_OWN_VOTES = 64

export class RoundContext {
  /** Actions produced while handling the current event. */
  out: JobAction[] = []

  constructor (
    readonly job: JobSpec,
    readonly self: string,
    readonly reputation: ReputationView,
    readonly acceptance: RoundAcceptance,
    public state: JobMachineState
  ) {}

  get current (): RoundState {
    return this.state.current
  }

  /** Peers whose latest join/leave is a join, plus us while joined; sorted. */
  participants (): string[] {
    const ps = Object.entries(this.state.members).filter(([p, m]) => m.joined && p !== this.self).map(([p]) => p)
    if (this.state.joined) ps.push(this.self)
    return ps.sort(compareIds)
  }

  isParticipant (peer: string): boolean {
    return peer === this.self ? this.state.joined : Object.hasOwn(this.state.members, peer) && this.state.members[peer].joined
  }

  /** The current round's voters and aggregator candidates (see RoundState.electorate). */
  electorate (): string[] {
    return this.current.electorate ?? this.participants()
  }

  /** Whether `peer`'s votes count for `round` (later rounds: our view of the participants). */
  canVote (peer: string, round: number): boolean {
    return round === this.current.round ? this.electorate().includes(peer) : this.isParticipant(peer)
  }

  /**
   * A signed delta or promise shows its author takes part: count it as a join (when newer than what we know of it), so a
   * lost join message does not leave a participant out for good.
   */
  impliedJoin (peer: string, seq: number): void {
    const members = this.state.members
    const m = Object.hasOwn(members, peer) ? members[peer] : undefined
    if (peer === this.self || (m != null && (m.joined || m.seq >= seq))) return
    if (m == null && Object.keys(members).length >= TRAINING_LIMITS.maxParticipants) return
    members[peer] = { seq, joined: true, samples: m?.samples ?? 0 }
  }

  /** Who seals (round, attempt): the rotation over the electorate of the current round (our participants otherwise). */
  aggregatorFor (round: number, attempt: number): string | null {
    const ps = round === this.current.round ? this.electorate() : this.participants()
    if (ps.length === 0) return null
    return selectAggregator(ps.map(peerId => {
      const rep = this.reputation.reputation(peerId)
      return { peerId, reputation: Number.isFinite(rep) ? rep : 0 }
    }), round, attempt)
  }

  /**
   * When the current attempt ends. Attempts follow a fixed schedule from the round's close, sealTimeoutMs each, so
   * nodes stay in step (they close within a gossip delay of each other) instead of drifting apart one event at a time.
   */
  attemptTimeout (): number {
    const r = this.current
    return (r.closedAt ?? 0) + (r.attempt + 1) * this.job.timing.sealTimeoutMs
  }

  publish (msg: TrainingMessage): void {
    this.out.push({ kind: 'publish', msg })
  }

  penalise (peerId: string, reason: PenaltyReason): void {
    const r = this.current
    const key = `${peerId}|${reason}`
    if (peerId === this.self || r.penalised.includes(key)) return
    r.penalised.push(key)
    this.out.push({ kind: 'penalise', peerId, reason, round: r.round })
  }

  /** Record a verified vote; a conflicting second vote of one peer is equivocation. */
  countVote (from: string, vote: SealBallot): void {
    const receipt = this.acceptance.onVote(vote, from)
    if (receipt.kind === 'equivocation' && vote.round === this.current.round) this.penalise(from, 'equivocation-vote')
  }

  /** Publish and count our vote on a seal; an approval raises our lock (what our promises report). */
  castVote (e: SealEntry, approve: boolean, reason?: string): void {
    const s = e.seal
    e.status = 'voted'
    const vote: SealVote = { type: 'vote', jobId: s.jobId, round: s.round, attempt: s.attempt, aggregateCid: s.aggregateCid, approve }
    if (reason !== undefined) vote.reason = reason
    this.publish(vote)
    const own = this.current.ownVotes
    own.push(vote)
    if (own.length > MAX_OWN_VOTES) own.shift()
    this.countVote(this.self, { ...refOf(s), approve })
    const lock = this.state.lock
    if (approve && (lock == null || lock.round !== s.round || lock.attempt < s.attempt)) {
      this.state.lock = { round: s.round, attempt: s.attempt, aggregateCid: s.aggregateCid }
    }
  }

  /**
   * Publish a seal for the current attempt: one we computed (`computed`: we approve it at once) or a re-proposal of
   * another's, which we then judge like any seal.
   */
  publishSeal (seal: RoundSeal, now: number, computed = true): void {
    const r = this.current
    r.sealedAttempts.push(seal.attempt)
    if (computed) r.verdicts[seal.aggregateCid] = true
    const entry: SealEntry = { seal, from: this.self, receivedAt: now, status: 'new', equivocated: false }
    this.state.seals.push(entry)
    this.publish(seal)
    if (computed) this.castVote(entry, true)
  }

  /** (Re-)announce our delta of the current round, if we have one. */
  publishOwnDelta (): void {
    const r = this.current
    const own = r.deltas.find(d => d.peerId === this.self && d.cid === r.ownDeltaCid)
    if (own == null) return
    this.publish({
      type: 'delta', jobId: this.job.id, round: r.round, baseModelCid: r.baseModelCid, cid: own.cid, samples: own.samples,
      bytes: own.bytes, metrics: { ...own.metrics }
    })
  }
}
