/**
 * The serverless round protocol of one job on one node, as a pure state machine: the shell feeds it events (validated
 * gossip, ticks, results of training / aggregation / verification) with the current time and carries out the actions it
 * returns. No I/O, no clock, no randomness: N machines fed the same messages take the same decisions.
 *
 * Rules:
 * - Participants are the peers whose latest join/leave (by envelope seq) is a join, plus us while joined; a signed delta
 *   or promise counts as a join (a lost join must not leave a peer out). Joins are re-announced at every round start.
 * - The electorate of round r (who votes on its seals and takes turns sealing it) is the set of contributors listed in
 *   the adopted seal of round r - 1: every node that adopted that seal agrees on it, so rotation and majorities agree.
 *   Round 0 uses the participants (it starts once minParticipants joined). Newcomers contribute at once and vote from
 *   the round after their first accepted delta.
 * - Round r trains on M_r (round 0: the job's initial model). A delta counts when a participant announces it for round r
 *   on base M_r; a second, different delta of one peer in one round is equivocation: penalised, both dropped.
 * - The round closes here when minParticipants usable deltas arrived and either every participant delivered or the
 *   adaptive deadline (median + k * MAD of arrival offsets, clamped to [minWaitMs, capMs] after the round start) passed,
 *   or when the aggregator's seal arrives. Stragglers never block it. Short of minParticipants it keeps waiting, and
 *   re-announces our join and delta every roundTimeoutMs in case gossip lost them.
 * - A closed round still takes deltas. A participant with none in it (joined after the close) trains it once the round
 *   is short of usable deltas here (one was refused after the close: its producer died unfetched) or needs a second
 *   attempt (the sign a late joiner can see); a fresh aggregate of a later attempt then lists its delta. Locks are
 *   still re-proposed first, so this never displaces an aggregate a quorum may have accepted.
 * - Attempt a of round r is sealed by selectAggregator(electorate by reputation, r, a). Attempts follow a fixed schedule
 *   of sealTimeoutMs slots from the close (so nodes stay in step); a node also moves up to the highest attempt that
 *   enough others promised for a strict majority of the electorate to be there once it joins them (a node that closed
 *   late or restarted re-synchronises; in an electorate of two, the other one suffices), or to the next one when its
 *   aggregator already sealed. `stall()` says what a round that needs more attempts waits for.
 * - A seal is valid when it lists >= minParticipants deltas, each announced to us for round r on M_r by a participant
 *   with the listed samples, none from an equivocator or found invalid, its metrics are the medians of the listed
 *   deltas' metrics, and recomputing the aggregate from exactly the listed deltas gives its modelHash and CID. It need
 *   not list every delta we saw: the aggregator closes on its own view.
 * - Voting is Paxos over gossip. Electorate members vote on the seals of their current attempt only. Moving to attempt
 *   a >= 1 they publish a promise: no approval below a, and the highest-attempt aggregate they approved. The aggregator
 *   of attempt a waits for promises from a strict majority and re-proposes the highest reported aggregate (unless a
 *   majority rejected it), or seals a fresh one if none. So an aggregate a majority may have accepted is never replaced,
 *   and lost votes or crashed voters cannot deadlock the round; each participant re-announces its delta every attempt.
 * - A seal is adopted when the SealAcceptance says accepted, over the round's electorate (a later round's: over our
 *   participants, at least minParticipants), whatever our own verdict. A certifying acceptance (seals through
 *   consensus, types.ts RoundAcceptance) adopts only by a QC naming that electorate, the creator's reduced one included.
 * - A voter lost for good: when half of a round's electorate is gone (two voters, one killed or left), the job's
 *   creator signs, after STALL_ATTEMPTS attempts, an `electorate` record naming the live half; from its attempt on, all
 *   of that half is a quorum too (of promises and of approvals). Every majority meets it, so the promise rule still
 *   keeps an aggregate a quorum may have accepted; the rotation stays over the full electorate. See electorate.ts.
 * - Catch-up: a node past round r re-sends the seals it adopted from r on, with its votes, to a participant that is
 *   stuck there (it promises attempts of r, or repeats a delta of r); the straggler adopts them in order, each against
 *   the exact electorate the previous one names. For r it also keeps promising and approving its adopted aggregate,
 *   so stragglers can still gather a majority after votes were lost for good.
 * - The job finishes after `rounds` sealed rounds. The target is not judged here: the job's creator stops the job (a
 *   signed stop, reason `target`) once the pooled accuracy of an accepted model reaches it (service/pooled.ts), so
 *   every node ends on one decision about the one figure users see.
 */
import { VerifiedMajority, equalReputation } from '../../consensus/index.js'
import { TRAINING_LIMITS } from '../protocol/messages.js'
import { RoundContext } from './context.js'
import { backOldRound, helpStraggler, onAggregate, onInvalid, onJoin, onLeave, onLocalDelta, onMessage, onUnavailable, onVerified } from './intake.js'
import { diagnose } from './diagnose.js'
import { currentRecord, recordMessages } from './electorate.js'
import { reconcile } from './progress.js'
import { roundDeadline, sealedDeltas, usableDeltas } from './rules.js'
import { checkSnapshot, initialState } from './state.js'
import type { JobAction, JobEvent, JobMachineOptions, JobMachineSnapshot, JobMachineView, RoundStall, SealEntry } from './types.js'
import type { ElectorateChange, JobSpec, SealVote } from '../protocol/messages.js'

/** One job's round protocol on one node. See the module comment for the rules. */
export class JobMachine {
  readonly job: JobSpec
  readonly self: string
  private readonly ctx: RoundContext

  constructor (opts: JobMachineOptions) {
    this.job = opts.job
    this.self = opts.self
    this.ctx = new RoundContext(opts.job, opts.self, opts.reputation ?? equalReputation, opts.acceptance ?? new VerifiedMajority(), initialState(opts.job))
  }

  /** A machine resumed from a snapshot (e.g. read back from Level after a crash); call `resume` next. */
  static fromSnapshot (snapshot: JobMachineSnapshot, opts: JobMachineOptions): JobMachine {
    const m = new JobMachine(opts)
    m.restore(snapshot)
    return m
  }

  /**
   * The seals this machine holds and our votes of the round in progress (read-only views, no copy): what a restored
   * node hands consensus again (job-runner.ts `remirror`).
   */
  held (): { seals: readonly SealEntry[], round: number, ownVotes: readonly SealVote[] } {
    return { seals: this.ctx.state.seals, round: this.ctx.current.round, ownVotes: this.ctx.current.ownVotes }
  }

  /** The whole state as plain JSON (a deep copy): persist it after every `handle`. */
  snapshot (): JobMachineSnapshot {
    return { v: 1, state: structuredClone(this.ctx.state), acceptance: this.ctx.acceptance.snapshot() }
  }

  /** Replace the state with a snapshot's; throws TrainingError ERR_SNAPSHOT for another job or version. */
  restore (snapshot: JobMachineSnapshot): void {
    checkSnapshot(snapshot, this.job)
    this.ctx.state = structuredClone(snapshot.state)
    // snapshots written before `unavailable` existed
    if (!Array.isArray(this.ctx.state.current.unavailable)) this.ctx.state.current.unavailable = []
    this.ctx.acceptance.restore(snapshot.acceptance)
  }

  /**
   * After a restart: ask again for the work in flight when the process died (training, our aggregate, verifications),
   * then take the decisions due by `now`.
   */
  resume (now: number): JobAction[] {
    const ctx = this.ctx
    ctx.out = []
    const r = ctx.current
    if (ctx.state.finished == null) {
      // training in flight died with the process: forget the request, and progress asks again while the round still
      // takes our delta (open, or closed but still short of deltas: progress.ts train())
      if (r.trainRequested && r.ownDeltaCid == null) r.trainRequested = false
      const req = r.aggregateRequest
      if (req != null && req.attempt === r.attempt && !r.sealedAttempts.includes(r.attempt)) {
        const usable = usableDeltas(r).filter(d => req.cids.includes(d.cid))
        ctx.out.push({ kind: 'aggregate', round: r.round, attempt: r.attempt, baseModelCid: r.baseModelCid, deltas: sealedDeltas(usable) })
      }
      for (const e of ctx.state.seals) if (e.status === 'verifying') ctx.out.push({ kind: 'verify', seal: e.seal })
      // say at once where we are: a node past our round re-sends its seals on a repeated delta or a promise of an
      // old round (helpStraggler). Waiting for the next scheduled re-announcement (roundTimeoutMs while collecting, the
      // attempt's slot while sealing) cost a restarted node a round or more of catch-up.
      if (ctx.state.joined) {
        ctx.publishOwnDelta()
        if (r.closedAt != null && r.attempt > 0) {
          const lock = ctx.state.lock != null && ctx.state.lock.round === r.round ? { attempt: ctx.state.lock.attempt, aggregateCid: ctx.state.lock.aggregateCid } : null
          ctx.publish({ type: 'promise', jobId: this.job.id, round: r.round, attempt: r.attempt, ...(lock == null ? {} : { locked: lock }) })
        }
      }
      reconcile(ctx, now)
    }
    return this.flush()
  }

  /**
   * The outcome actions of the last seal we adopted (`model-accepted`, then `job-finished` if it ended the job), for a
   * shell that was killed after persisting the step that adopted it but before carrying those actions out: it replays
   * them on restart when it has no report of that round. Empty before the first adoption.
   */
  lastOutcome (): JobAction[] {
    const state = this.ctx.state
    const last = state.history[state.history.length - 1]
    if (last == null) return []
    const { seal } = last
    const out: JobAction[] = [{ kind: 'model-accepted', round: seal.round, modelCid: seal.aggregateCid, modelHash: seal.modelHash, metrics: { ...seal.metrics }, seal, aggregator: last.aggregator ?? '' }]
    const f = state.finished
    if (f != null && f.round === seal.round) out.push({ kind: 'job-finished', reason: f.reason, round: f.round, modelCid: seal.aggregateCid, modelHash: seal.modelHash })
    return out
  }

  /** Consume one event at time `now` (ms) and return what the shell must do, in order. */
  handle (event: JobEvent, now: number): JobAction[] {
    const ctx = this.ctx
    ctx.out = []
    if (ctx.state.finished != null) {
      // a finished job only helps participants that missed its last outcome
      const msg = event.kind === 'message' ? event.msg : null
      if (event.kind === 'message' && msg != null && event.from !== this.self && msg.type !== 'job' && msg.jobId === this.job.id) {
        if (msg.type === 'promise' || msg.type === 'delta') helpStraggler(ctx, event.from, msg, now)
        if (msg.type === 'seal') backOldRound(ctx, msg)
      }
      return this.flush()
    }
    switch (event.kind) {
      case 'message': onMessage(ctx, event.from, event.seq, event.msg, now); break
      case 'tick': break
      case 'join': onJoin(ctx, event.samples); break
      case 'leave': onLeave(ctx); break
      case 'local-delta-ready': onLocalDelta(ctx, event, now); break
      case 'aggregate-computed': onAggregate(ctx, event, now); break
      case 'seal-verified': onVerified(ctx, event); break
      case 'delta-invalid': onInvalid(ctx, event); break
      case 'delta-unavailable': onUnavailable(ctx, event)
    }
    reconcile(ctx, now)
    return this.flush()
  }

  /** When the machine next needs a tick (a deadline or timeout), or null if only an event can move it. */
  nextWakeAt (): number | null {
    const ctx = this.ctx
    if (ctx.state.finished != null) return null
    const r = ctx.current
    const times: number[] = []
    if (r.startedAt != null && r.closedAt == null) {
      if (usableDeltas(r).length >= this.job.minParticipants) times.push(roundDeadline(r, this.job) as number)
      times.push((r.announcedAt ?? r.startedAt) + this.job.timing.roundTimeoutMs)
    }
    if (r.closedAt != null && r.attempt < TRAINING_LIMITS.maxAttempts - 1) times.push(ctx.attemptTimeout())
    return times.length === 0 ? null : Math.min(...times)
  }

  /** The participants as this node sees them, sorted. */
  participants (): string[] {
    return this.ctx.participants()
  }

  /** Who seals (round, attempt) in this node's view, or null with no participants. */
  aggregatorFor (round: number, attempt: number): string | null {
    return this.ctx.aggregatorFor(round, attempt)
  }

  /** What the current round waits for (null when finished or not started): the shell logs it when a round stalls. */
  stall (): RoundStall | null {
    return diagnose(this.ctx)
  }

  /** The creator's electorate records this machine holds (the creator repeats them for nodes that missed them). */
  electorateRecords (): ElectorateChange[] {
    return recordMessages(this.ctx)
  }

  /** The creator's valid record for the current round, if any: from `fromAttempt` on, all of `electorate` is a quorum. */
  reducedElectorate (): { fromAttempt: number, electorate: string[] } | undefined {
    const rec = currentRecord(this.ctx)
    return rec == null ? undefined : { fromAttempt: rec.fromAttempt, electorate: [...rec.electorate] }
  }

  /** A summary for status output. */
  view (): JobMachineView {
    const ctx = this.ctx
    const r = ctx.current
    const phase = ctx.state.finished != null ? 'finished' : r.startedAt == null ? 'waiting' : r.closedAt == null ? 'collecting' : 'sealing'
    return {
      jobId: this.job.id,
      round: r.round,
      attempt: r.attempt,
      phase,
      baseModelCid: r.baseModelCid,
      joined: ctx.state.joined,
      participants: ctx.participants(),
      electorate: ctx.electorate(),
      deltas: usableDeltas(r).length,
      aggregator: ctx.aggregatorFor(r.round, r.attempt)
    }
  }

  private flush (): JobAction[] {
    const out = this.ctx.out
    this.ctx.out = []
    return out
  }
}
