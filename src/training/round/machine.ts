/**
 * The serverless round protocol of one job on one node, as a pure state machine: the shell feeds it events (validated
 * gossip, ticks, results of training / aggregation / verification) with the current time and carries out the actions it
 * returns. No I/O, no clock, no randomness: N machines fed the same messages take the same decisions.
 *
 * Rules (see also rules.ts and the JSDoc of JobMachine):
 * - Participants are the peers whose latest join/leave (by envelope seq) is a join, plus us while joined. Joins are
 *   re-announced at every round start, so a node that comes back learns who takes part.
 * - Round r trains on M_r (round 0: the job's initial model; it starts once minParticipants have joined). A delta counts
 *   when a participant announces it for round r on base M_r; a second, different delta of one peer in one round is
 *   equivocation: the peer is penalised and both are dropped.
 * - The round closes here when minParticipants usable deltas arrived and either every participant delivered or the
 *   adaptive deadline (median + k * MAD of arrival offsets, clamped to [minWaitMs, capMs]) passed, or when the
 *   aggregator's seal arrives. Short of minParticipants it keeps waiting, re-announcing our join and delta every
 *   roundTimeoutMs in case gossip lost them.
 * - Attempt a of round r is sealed by selectAggregator(participants by reputation, r, a). The attempt moves on when its
 *   seal is rejected, when no seal came sealTimeoutMs after the attempt started, or when its seal is still pending
 *   sealTimeoutMs after it arrived.
 * - Participants check each seal of the current round (rules.checkSeal), recompute it (`verify`) and vote. We approve
 *   at most one aggregate per round (the lock) until the seal we approved is rejected; a locked aggregator re-proposes
 *   the locked seal, so votes carry over. A seal is adopted when the SealAcceptance says accepted over the current
 *   participants (at least minParticipants of them), whatever our own verdict: that is also how a node that was away
 *   catches up with a seal of a later round.
 * - The job finishes after `rounds` sealed rounds, or when an accepted seal's (median) accuracy reaches the target.
 */
import { VerifiedMajority, equalReputation, type ReputationView, type SealAcceptance, type SealRef } from '../../consensus/core/index.js'
import { compareIds } from '../core/aggregate.js'
import { selectAggregator } from '../core/round-timing.js'
import { TRAINING_LIMITS, type DeltaAnnounce, type JobSpec, type RoundSeal, type SealVote, type TrainingMessage } from '../protocol/messages.js'
import { checkSeal, closeDue, roundDeadline, sealDigest, sealedDeltas, sealMetrics, usableDeltas } from './rules.js'
import { ROUND_LIMITS, checkSnapshot, initialState, newRound } from './state.js'
import type {
  DeltaEntry, JobAction, JobEvent, JobMachineOptions, JobMachineSnapshot, JobMachineState, JobMachineView, PenaltyReason, SealEntry
} from './types.js'

const ref = (s: RoundSeal): SealRef => ({ jobId: s.jobId, round: s.round, attempt: s.attempt, aggregateCid: s.aggregateCid })

/** One job's round protocol on one node. See the module comment for the rules. */
export class JobMachine {
  readonly job: JobSpec
  readonly self: string
  private readonly reputation: ReputationView
  private readonly acceptance: SealAcceptance
  private state: JobMachineState
  private out: JobAction[] = []

  constructor (opts: JobMachineOptions) {
    this.job = opts.job
    this.self = opts.self
    this.reputation = opts.reputation ?? equalReputation
    this.acceptance = opts.acceptance ?? new VerifiedMajority()
    this.state = initialState(opts.job)
  }

  /** A machine resumed from a snapshot (e.g. read back from Level after a crash). */
  static fromSnapshot (snapshot: JobMachineSnapshot, opts: JobMachineOptions): JobMachine {
    const m = new JobMachine(opts)
    m.restore(snapshot)
    return m
  }

  /** The whole state as plain JSON (a deep copy). */
  snapshot (): JobMachineSnapshot {
    return { v: 1, state: structuredClone(this.state), acceptance: this.acceptance.snapshot() }
  }

  /** Replace the state with a snapshot's; throws TrainingError ERR_SNAPSHOT for another job or version. */
  restore (snapshot: JobMachineSnapshot): void {
    checkSnapshot(snapshot, this.job)
    this.state = structuredClone(snapshot.state)
    this.acceptance.restore(snapshot.acceptance)
  }

  /** Consume one event at time `now` (ms) and return what the shell must do, in order. */
  handle (event: JobEvent, now: number): JobAction[] {
    this.out = []
    if (this.state.finished != null) return []
    switch (event.kind) {
      case 'message': this.onMessage(event.from, event.seq, event.msg, now); break
      case 'tick': break
      case 'join': this.onJoin(event.samples); break
      case 'leave': this.onLeave(); break
      case 'local-delta-ready': this.onLocalDelta(event, now); break
      case 'aggregate-computed': this.onAggregate(event, now); break
      case 'seal-verified': this.onVerified(event); break
      case 'delta-invalid': this.onInvalid(event)
    }
    this.reconcile(now)
    const out = this.out
    this.out = []
    return out
  }

  /** When the machine next needs a tick (a deadline or timeout), or null if only an event can move it. */
  nextWakeAt (): number | null {
    if (this.state.finished != null) return null
    const r = this.state.current
    const t = this.job.timing
    const times: number[] = []
    if (r.startedAt != null && r.closedAt == null) {
      if (usableDeltas(r).length >= this.job.minParticipants) times.push(roundDeadline(r, this.job) as number)
      times.push((r.announcedAt ?? r.startedAt) + t.roundTimeoutMs)
    }
    if (r.closedAt != null && r.attemptStartedAt != null) times.push(this.attemptTimeout())
    return times.length === 0 ? null : Math.min(...times)
  }

  /** The participants as this node sees them, sorted. */
  participants (): string[] {
    const ps = Object.entries(this.state.members).filter(([p, m]) => m.joined && p !== this.self).map(([p]) => p)
    if (this.state.joined) ps.push(this.self)
    return ps.sort(compareIds)
  }

  /** Who seals (round, attempt) in this node's view, or null with no participants. */
  aggregatorFor (round: number, attempt: number): string | null {
    const ps = this.participants()
    if (ps.length === 0) return null
    return selectAggregator(ps.map(peerId => {
      const rep = this.reputation.reputation(peerId)
      return { peerId, reputation: Number.isFinite(rep) ? rep : 0 }
    }), round, attempt)
  }

  /** A summary for status output. */
  view (): JobMachineView {
    const r = this.state.current
    const phase = this.state.finished != null ? 'finished' : r.startedAt == null ? 'waiting' : r.closedAt == null ? 'collecting' : 'sealing'
    return {
      jobId: this.job.id,
      round: r.round,
      attempt: r.attempt,
      phase,
      baseModelCid: r.baseModelCid,
      joined: this.state.joined,
      participants: this.participants(),
      deltas: usableDeltas(r).length,
      aggregator: this.aggregatorFor(r.round, r.attempt)
    }
  }

  // ---- events ----

  private onMessage (from: string, seq: number, msg: TrainingMessage, now: number): void {
    if (from === this.self || msg.type === 'job' || msg.jobId !== this.job.id) return
    switch (msg.type) {
      case 'join':
      case 'leave': {
        const m = this.state.members[from]
        if (m != null && m.seq >= seq) return
        // a leave from a stranger changes nothing; strangers beyond the participant cap are not remembered
        if (m == null && (msg.type === 'leave' || Object.keys(this.state.members).length >= TRAINING_LIMITS.maxParticipants)) return
        this.state.members[from] = { seq, joined: msg.type === 'join', samples: msg.type === 'join' ? msg.samples : 0 }
        return
      }
      case 'delta': this.onDelta(from, msg, now); return
      case 'seal': this.onSeal(from, msg, now); return
      case 'vote': this.onVote(from, msg)
    }
  }

  private onJoin (samples: number): void {
    this.state.joined = true
    this.state.samples = samples
    this.publish({ type: 'join', jobId: this.job.id, samples })
  }

  private onLeave (): void {
    if (!this.state.joined) return
    this.state.joined = false
    this.publish({ type: 'leave', jobId: this.job.id })
  }

  private onDelta (from: string, msg: DeltaAnnounce, now: number): void {
    const r = this.state.current
    if (msg.round < r.round || msg.round >= this.job.rounds) return
    if (!this.participants().includes(from)) return
    const entry: DeltaEntry = {
      round: msg.round, peerId: from, cid: msg.cid, baseModelCid: msg.baseModelCid, samples: msg.samples, bytes: msg.bytes,
      metrics: { loss: msg.metrics.loss, accuracy: msg.metrics.accuracy }, arrivedAt: now
    }
    if (msg.round === r.round) { this.acceptDelta(entry); return }
    const f = this.state.futureDeltas
    if (f.length >= ROUND_LIMITS.maxFutureDeltas || f.some(d => d.round === msg.round && d.peerId === from && d.cid === msg.cid)) return
    f.push(entry)
  }

  private acceptDelta (e: DeltaEntry): void {
    const r = this.state.current
    if (e.round !== r.round || e.baseModelCid !== r.baseModelCid || r.equivocators.includes(e.peerId)) return
    const prior = r.deltas.find(d => d.peerId === e.peerId)
    if (prior == null) { r.deltas.push(e); return }
    if (prior.cid === e.cid) return // a re-announcement
    r.equivocators.push(e.peerId)
    this.penalise(e.peerId, 'equivocation-delta')
  }

  private onSeal (from: string, seal: RoundSeal, now: number): void {
    const r = this.state.current
    if (seal.round < r.round || seal.round >= this.job.rounds) return
    if (seal.round === r.round && seal.baseModelCid !== r.baseModelCid) return
    const same = this.state.seals.filter(e => e.from === from && e.seal.round === seal.round && e.seal.attempt === seal.attempt)
    const digest = sealDigest(seal)
    if (same.some(e => sealDigest(e.seal) === digest)) return
    if (same.length > 0) {
      for (const e of same) e.equivocated = true
      if (seal.round === r.round) this.penalise(from, 'equivocation-seal')
      if (same.length >= 2) return // two are evidence enough
    }
    if (this.state.seals.length >= ROUND_LIMITS.maxSeals) return
    this.state.seals.push({ seal, from, receivedAt: now, status: 'new', equivocated: same.length > 0 })
  }

  private onVote (from: string, v: SealVote): void {
    if (v.round < this.state.current.round || v.round >= this.job.rounds) return
    const receipt = this.acceptance.onVote({ jobId: v.jobId, round: v.round, attempt: v.attempt, aggregateCid: v.aggregateCid, approve: v.approve }, from)
    if (receipt.kind === 'equivocation' && v.round === this.state.current.round) this.penalise(from, 'equivocation-vote')
  }

  private onLocalDelta (e: Extract<JobEvent, { kind: 'local-delta-ready' }>, now: number): void {
    const r = this.state.current
    if (!this.state.joined || e.round !== r.round || e.baseModelCid !== r.baseModelCid || r.ownDeltaCid != null) return
    r.ownDeltaCid = e.cid
    this.acceptDelta({ round: e.round, peerId: this.self, cid: e.cid, baseModelCid: e.baseModelCid, samples: e.samples, bytes: e.bytes, metrics: { ...e.metrics }, arrivedAt: now })
    this.publishOwnDelta()
  }

  private onAggregate (e: Extract<JobEvent, { kind: 'aggregate-computed' }>, now: number): void {
    const r = this.state.current
    const req = r.aggregateRequest
    if (e.round !== r.round || e.attempt !== r.attempt || req == null || req.attempt !== e.attempt || r.sealedAttempts.includes(e.attempt)) return
    if (e.deltas.length !== req.cids.length || e.deltas.some((c, i) => c !== req.cids[i])) return
    const usable = usableDeltas(r)
    const listed = req.cids.map(c => usable.find(d => d.cid === c))
    if (listed.some(d => d == null)) return // one went bad meanwhile: reconcile asks again
    const deltas = listed as DeltaEntry[]
    this.publishSeal({
      type: 'seal', jobId: this.job.id, round: r.round, attempt: e.attempt, baseModelCid: r.baseModelCid,
      deltas: sealedDeltas(deltas), aggregateCid: e.aggregateCid, modelHash: e.modelHash, metrics: sealMetrics(deltas)
    }, now)
  }

  private onVerified (e: Extract<JobEvent, { kind: 'seal-verified' }>): void {
    const r = this.state.current
    if (e.round !== r.round) return
    const waiting = this.state.seals.filter(s => s.status === 'verifying' && s.seal.round === e.round && s.seal.aggregateCid === e.aggregateCid)
    if (waiting.length === 0) return
    r.verdicts[e.aggregateCid] = e.ok
    if (!e.ok && e.reason === 'mismatch') for (const s of waiting) this.penalise(s.from, 'bad-seal')
  }

  private onInvalid (e: Extract<JobEvent, { kind: 'delta-invalid' }>): void {
    const r = this.state.current
    if (e.round !== r.round || !r.deltas.some(d => d.cid === e.cid && d.peerId === e.peerId)) return
    if (!r.invalid.includes(e.cid)) r.invalid.push(e.cid)
    this.penalise(e.peerId, 'invalid-delta')
  }

  // ---- progress ----

  /** Derive actions from the state until nothing changes (bounded). */
  private reconcile (now: number): void {
    for (let i = 0; i < 64 && this.state.finished == null; i++) {
      if (this.adoptAccepted(now)) continue
      let changed = this.startRound(now)
      changed = this.closeRound(now) || changed
      changed = this.advanceAttempt(now) || changed
      changed = this.releaseLock() || changed
      changed = this.train() || changed
      changed = this.seal(now) || changed
      changed = this.vote() || changed
      if (!changed) return
    }
  }

  /** Adopt the latest accepted seal of this or a later round. */
  private adoptAccepted (now: number): boolean {
    const electorate = this.participants()
    if (electorate.length < this.job.minParticipants) return false
    const candidates = this.state.seals
      .filter(e => e.seal.round >= this.state.current.round)
      .sort((a, b) => b.seal.round - a.seal.round || a.seal.attempt - b.seal.attempt)
    const accepted = candidates.find(e => this.acceptance.outcome(ref(e.seal), electorate) === 'accepted')
    if (accepted == null) return false
    this.adopt(accepted.seal, now)
    return true
  }

  private adopt (seal: RoundSeal, now: number): void {
    this.out.push({ kind: 'model-accepted', round: seal.round, modelCid: seal.aggregateCid, modelHash: seal.modelHash, metrics: { ...seal.metrics }, seal })
    const next = seal.round + 1
    const target = this.job.target
    const reason = target != null && seal.metrics.accuracy >= target.value ? 'target' : next >= this.job.rounds ? 'rounds' : null
    this.acceptance.prune(this.job.id, next)
    if (reason != null) {
      this.state.finished = { reason, round: seal.round }
      this.state.seals = []
      this.state.futureDeltas = []
      this.out.push({ kind: 'job-finished', reason, round: seal.round, modelCid: seal.aggregateCid, modelHash: seal.modelHash })
      return
    }
    this.state.current = newRound(next, seal.aggregateCid, seal.modelHash, now)
    this.state.lock = null
    this.state.seals = this.state.seals.filter(e => e.seal.round >= next)
    const pending = this.state.futureDeltas.filter(d => d.round === next)
    this.state.futureDeltas = this.state.futureDeltas.filter(d => d.round > next)
    for (const d of pending) this.acceptDelta({ ...d, arrivedAt: Math.max(d.arrivedAt, now) })
    if (this.state.joined) this.publish({ type: 'join', jobId: this.job.id, samples: this.state.samples })
  }

  /** Round 0 starts once minParticipants have joined; later rounds start when their base is adopted. */
  private startRound (now: number): boolean {
    const r = this.state.current
    if (r.startedAt != null || this.participants().length < this.job.minParticipants) return false
    r.startedAt = now
    r.announcedAt = now
    return true
  }

  private closeRound (now: number): boolean {
    const r = this.state.current
    if (r.startedAt == null || r.closedAt != null) return false
    const sealed = this.state.seals.some(e => e.seal.round === r.round && e.from === this.aggregatorFor(r.round, e.seal.attempt))
    if (sealed || closeDue(r, this.participants(), this.job, now)) {
      r.closedAt = now
      r.attemptStartedAt = now
      return true
    }
    if (now >= (r.announcedAt ?? r.startedAt) + this.job.timing.roundTimeoutMs) {
      // still short of deltas: re-announce in case gossip lost them (a fresh seq passes the replay guard)
      r.announcedAt = now
      if (this.state.joined) this.publish({ type: 'join', jobId: this.job.id, samples: this.state.samples })
      this.publishOwnDelta()
      return true
    }
    return false
  }

  /** The current attempt's seals (from its aggregator). */
  private attemptSeals (): SealEntry[] {
    const r = this.state.current
    const agg = this.aggregatorFor(r.round, r.attempt)
    return this.state.seals.filter(e => e.seal.round === r.round && e.seal.attempt === r.attempt && e.from === agg)
  }

  private attemptTimeout (): number {
    const r = this.state.current
    const start = r.attemptStartedAt as number
    const seals = this.attemptSeals()
    const from = seals.length === 0 ? start : Math.max(start, Math.min(...seals.map(e => e.receivedAt)))
    return from + this.job.timing.sealTimeoutMs
  }

  private advanceAttempt (now: number): boolean {
    const r = this.state.current
    if (r.closedAt == null || r.attemptStartedAt == null || r.attempt >= TRAINING_LIMITS.maxAttempts - 1) return false
    const electorate = this.participants()
    const rejected = this.attemptSeals().some(e => this.acceptance.outcome(ref(e.seal), electorate) === 'rejected')
    if (!rejected && now < this.attemptTimeout()) return false
    r.attempt++
    r.attemptStartedAt = now
    return true
  }

  private releaseLock (): boolean {
    const lock = this.state.lock
    if (lock == null) return false
    if (this.acceptance.outcome({ jobId: this.job.id, ...lock }, this.participants()) !== 'rejected') return false
    this.state.lock = null
    return true
  }

  private train (): boolean {
    const r = this.state.current
    if (!this.state.joined || r.startedAt == null || r.trainRequested) return false
    r.trainRequested = true
    // a round that already closed here will not use our delta
    if (r.closedAt == null) this.out.push({ kind: 'train', round: r.round, baseModelCid: r.baseModelCid, modelHash: r.baseModelHash })
    return true
  }

  /** When we seal the current attempt: re-propose our locked seal, or ask the shell for the aggregate. */
  private seal (now: number): boolean {
    const r = this.state.current
    if (!this.state.joined || r.closedAt == null || r.sealedAttempts.includes(r.attempt)) return false
    if (this.aggregatorFor(r.round, r.attempt) !== this.self) return false
    const lock = this.state.lock
    const locked = lock == null ? undefined : this.state.seals.find(e => e.seal.round === r.round && e.seal.aggregateCid === lock.aggregateCid)
    if (locked != null) {
      this.publishSeal({ ...locked.seal, attempt: r.attempt }, now)
      return true
    }
    const usable = usableDeltas(r)
    const req = r.aggregateRequest
    if (req != null && req.attempt === r.attempt && req.cids.every(c => usable.some(d => d.cid === c))) return false
    if (usable.length < this.job.minParticipants) return false
    r.aggregateRequest = { attempt: r.attempt, cids: usable.map(d => d.cid) }
    this.out.push({ kind: 'aggregate', round: r.round, attempt: r.attempt, baseModelCid: r.baseModelCid, deltas: sealedDeltas(usable) })
    return true
  }

  /** Check, verify and vote on the current round's seals that are ours to judge. */
  private vote (): boolean {
    if (!this.state.joined) return false
    const r = this.state.current
    let changed = false
    for (const e of this.state.seals) {
      if (e.seal.round !== r.round || e.from === this.self) continue
      if (e.status === 'verifying') {
        const verdict = r.verdicts[e.seal.aggregateCid]
        if (verdict !== undefined) { this.castVote(e, verdict, verdict ? undefined : 'mismatch'); changed = true }
        continue
      }
      if (e.status !== 'new') continue
      // only the rotation's aggregator seals an attempt; one attempt ahead of ours is clock skew, not abuse
      if (e.from !== this.aggregatorFor(r.round, e.seal.attempt) || e.seal.attempt > r.attempt + 1) continue
      if (e.equivocated) { this.castVote(e, false, 'equivocation'); changed = true; continue }
      const lock = this.state.lock
      if (lock != null && lock.round === r.round && lock.aggregateCid !== e.seal.aggregateCid) { this.castVote(e, false, 'locked'); changed = true; continue }
      const check = checkSeal(e.seal, r, this.job)
      if (check.kind === 'wait') continue
      changed = true
      if (check.kind === 'bad') {
        if (check.blame) this.penalise(e.from, 'bad-seal')
        this.castVote(e, false, check.reason)
        continue
      }
      const verdict = r.verdicts[e.seal.aggregateCid]
      if (verdict !== undefined) { this.castVote(e, verdict, verdict ? undefined : 'mismatch'); continue }
      e.status = 'verifying'
      this.out.push({ kind: 'verify', seal: e.seal })
    }
    return changed
  }

  // ---- helpers ----

  private publishSeal (seal: RoundSeal, now: number): void {
    const r = this.state.current
    r.sealedAttempts.push(seal.attempt)
    r.verdicts[seal.aggregateCid] = true
    const entry: SealEntry = { seal, from: this.self, receivedAt: now, status: 'new', equivocated: false }
    this.state.seals.push(entry)
    this.publish(seal)
    this.castVote(entry, true)
  }

  private castVote (e: SealEntry, approve: boolean, reason?: string): void {
    const lock = this.state.lock
    const s = e.seal
    if (approve && lock != null && lock.round === s.round && lock.aggregateCid !== s.aggregateCid) {
      approve = false
      reason = 'locked'
    }
    e.status = 'voted'
    const vote: SealVote = { type: 'vote', jobId: s.jobId, round: s.round, attempt: s.attempt, aggregateCid: s.aggregateCid, approve }
    if (reason !== undefined) vote.reason = reason
    this.publish(vote)
    this.acceptance.onVote({ ...ref(s), approve }, this.self)
    if (approve && (lock == null || lock.round !== s.round || lock.attempt < s.attempt)) {
      this.state.lock = { round: s.round, attempt: s.attempt, aggregateCid: s.aggregateCid }
    }
  }

  private publishOwnDelta (): void {
    const r = this.state.current
    const own = r.deltas.find(d => d.peerId === this.self && d.cid === r.ownDeltaCid)
    if (own == null) return
    this.publish({
      type: 'delta', jobId: this.job.id, round: r.round, baseModelCid: r.baseModelCid, cid: own.cid, samples: own.samples,
      bytes: own.bytes, metrics: { ...own.metrics }
    })
  }

  private publish (msg: TrainingMessage): void {
    this.out.push({ kind: 'publish', msg })
  }

  private penalise (peerId: string, reason: PenaltyReason): void {
    const r = this.state.current
    const key = `${peerId}|${reason}`
    if (peerId === this.self || r.penalised.includes(key)) return
    r.penalised.push(key)
    this.out.push({ kind: 'penalise', peerId, reason, round: r.round })
  }
}
