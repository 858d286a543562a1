/**
 * Progress: the decisions that follow from the state, taken after every event until nothing changes. Internal to
 * src/training/round; the rules are summarised in machine.ts.
 */
import { compareIds } from '../core/aggregate.js'
import { TRAINING_LIMITS, type RoundSeal } from '../protocol/messages.js'
import { refOf, type RoundContext } from './context.js'
import { acceptedBy, acceptedNow, isQuorum, pruneRecords, reconfigure, rejectedByMajority } from './electorate.js'
import { acceptDelta, admitStrangerVotes } from './intake.js'
import { checkSeal, closeDue, sealedDeltas, usableDeltas, wantsLateDeltas } from './rules.js'
import { ROUND_LIMITS, newRound } from './state.js'
import type { SealEntry } from './types.js'

/** Take every decision the state calls for (bounded, in case of a bug: each step must settle). */
export function reconcile (ctx: RoundContext, now: number): void {
  for (let i = 0; i < 64 && ctx.state.finished == null; i++) {
    if (adoptAccepted(ctx, now)) continue
    let changed = startRound(ctx, now)
    changed = closeRound(ctx, now) || changed
    changed = advanceAttempt(ctx, now) || changed
    changed = reconfigure(ctx) || changed
    changed = train(ctx) || changed
    changed = seal(ctx, now) || changed
    changed = vote(ctx) || changed
    if (!changed) return
  }
}

/** Adopt the latest seal, of this or a later round, that the acceptance rule accepts over our participants. */
function adoptAccepted (ctx: RoundContext, now: number): boolean {
  const r = ctx.current
  const electorate = ctx.electorate()
  const participants = ctx.participants()
  const candidates = ctx.state.seals
    .filter(e => e.seal.round >= r.round)
    .sort((a, b) => b.seal.round - a.seal.round || a.seal.attempt - b.seal.attempt)
  // a later round's electorate is unknown here: our participants, at least minParticipants of them
  const accepted = candidates.find(e => {
    if (e.seal.round === r.round) return electorate.length >= ctx.job.minParticipants && acceptedNow(ctx, refOf(e.seal))
    return participants.length >= ctx.job.minParticipants && acceptedBy(ctx, refOf(e.seal), participants)
  })
  if (accepted == null) return false
  adopt(ctx, accepted, now)
  return true
}

function adopt (ctx: RoundContext, entry: SealEntry, now: number): void {
  const { seal } = entry
  const state = ctx.state
  ctx.out.push({ kind: 'model-accepted', round: seal.round, modelCid: seal.aggregateCid, modelHash: seal.modelHash, metrics: { ...seal.metrics }, seal, aggregator: entry.from })
  const votes = ctx.current.ownVotes.filter(v => v.round === seal.round && v.attempt === seal.attempt && v.aggregateCid === seal.aggregateCid)
  state.history.push({ seal, votes, deltas: ctx.current.deltas.map(d => `${d.peerId}|${d.cid}`), aggregator: entry.from })
  if (state.history.length > ROUND_LIMITS.history) state.history.shift()
  const next = seal.round + 1
  // the machine ends a job only after its rounds. The target is judged on the job's one figure, the accepted model's
  // accuracy pooled over its contributors' evaluations (service/pooled.ts), by the job's creator, whose signed stop
  // ends the job on every node (issue 11, defect 2). Evaluations arrive after the seal, at different times on
  // different nodes: judged here, nodes would end the job at different rounds; the seal's median is another figure.
  const reason = next >= ctx.job.rounds ? 'rounds' : null
  ctx.acceptance.prune(ctx.job.id, next)
  pruneRecords(ctx, next)
  state.lock = null
  state.seals = state.seals.filter(e => e.seal.round >= next)
  state.strangerVotes = state.strangerVotes.filter(h => h.vote.round >= next)
  const pending = state.futureDeltas.filter(d => d.round === next)
  state.futureDeltas = state.futureDeltas.filter(d => d.round > next)
  state.current = newRound(next, seal.aggregateCid, seal.modelHash, now, [...new Set(seal.deltas.map(d => d.peerId))].sort(compareIds))
  if (reason != null) {
    state.finished = { reason, round: seal.round }
    state.seals = []
    state.futureDeltas = []
    state.strangerVotes = []
    ctx.out.push({ kind: 'job-finished', reason, round: seal.round, modelCid: seal.aggregateCid, modelHash: seal.modelHash })
    return
  }
  for (const d of pending) acceptDelta(ctx, { ...d, arrivedAt: Math.max(d.arrivedAt, now) })
  admitStrangerVotes(ctx)
  // the heartbeat that lets nodes which were away learn who takes part
  if (state.joined) ctx.publish({ type: 'join', jobId: ctx.job.id, samples: state.samples })
}

/** Round 0 starts once minParticipants have joined; later rounds start when their base is adopted. */
function startRound (ctx: RoundContext, now: number): boolean {
  const r = ctx.current
  if (r.startedAt != null || ctx.participants().length < ctx.job.minParticipants) return false
  r.startedAt = now
  r.announcedAt = now
  return true
}

function closeRound (ctx: RoundContext, now: number): boolean {
  const r = ctx.current
  if (r.startedAt == null || r.closedAt != null) return false
  const sealed = ctx.state.seals.some(e => e.seal.round === r.round && e.from === ctx.aggregatorFor(r.round, e.seal.attempt))
  if (sealed || closeDue(r, ctx.participants(), ctx.job, now)) {
    r.closedAt = now
    r.attemptStartedAt = now
    return true
  }
  if (now >= (r.announcedAt ?? r.startedAt) + ctx.job.timing.roundTimeoutMs) {
    // still short of deltas: re-announce in case gossip lost them (a fresh seq passes the replay guard)
    r.announcedAt = now
    if (ctx.state.joined) ctx.publish({ type: 'join', jobId: ctx.job.id, samples: ctx.state.samples })
    ctx.publishOwnDelta()
    return true
  }
  return false
}

/**
 * Move on when the attempt's slot in the schedule is over (several at once after a pause), or when the next attempt's
 * aggregator already sealed (we closed late). A rejected seal does not cut its slot short: a node that missed a vote
 * would fall out of step, and a node one attempt ahead refuses every seal of the others. Moving on, a participant
 * promises the new attempt.
 */
function advanceAttempt (ctx: RoundContext, now: number): boolean {
  const r = ctx.current
  const cap = TRAINING_LIMITS.maxAttempts - 1
  if (r.closedAt == null || r.attempt >= cap) return false
  let next = r.attempt + 1
  const ahead = ctx.state.seals.some(e => e.seal.round === r.round && e.seal.attempt === next && e.from === ctx.aggregatorFor(r.round, next))
  const reached = reachedAttempt(ctx)
  if (reached > r.attempt) {
    next = Math.min(cap, reached)
  } else if (!ahead) {
    if (now < ctx.attemptTimeout()) return false
    next = Math.min(cap, Math.max(next, Math.floor((now - r.closedAt) / ctx.job.timing.sealTimeoutMs)))
  }
  r.attempt = next
  r.attemptStartedAt = now
  r.promises = r.promises.filter(p => p.attempt >= next)
  // outside the electorate our promise binds nothing, but tells peers past this round that we are stuck in it
  if (ctx.state.joined) {
    const lock = ctx.state.lock != null && ctx.state.lock.round === r.round ? { attempt: ctx.state.lock.attempt, aggregateCid: ctx.state.lock.aggregateCid } : null
    ctx.publish({ type: 'promise', jobId: ctx.job.id, round: r.round, attempt: next, ...(lock == null ? {} : { locked: lock }) })
    r.promises.push({ from: ctx.self, attempt: next, locked: lock })
  }
  // a verifier that missed our announcement can never check a seal listing our delta: repeat it each attempt
  if (ctx.state.joined) ctx.publishOwnDelta()
  return true
}

/**
 * The highest attempt that a strict majority of the electorate would be at, counting us as there: enough of the others
 * promised it that, once we join them, its aggregator can gather a majority of promises. A node that closed late or
 * came back from a restart is behind by a slot or more; were it to wait for a strict majority *including itself* to be
 * ahead (the rule before), an electorate of two (or one split evenly by a restart) never re-synchronised: the laggard's
 * seals were stale to the others and its promises too old for them, every attempt, forever (issue 11, defect 1).
 */
export function reachedAttempt (ctx: RoundContext): number {
  const r = ctx.current
  const electorate = ctx.electorate()
  const inside = electorate.includes(ctx.self)
  const others = electorate
    .filter(p => p !== ctx.self)
    .map(p => (Object.hasOwn(r.promisedAttempts, p) ? r.promisedAttempts[p] : 0))
    .sort((a, b) => b - a)
  const need = Math.floor(electorate.length / 2) + 1 - (inside ? 1 : 0)
  return need <= 0 ? r.attempt : others[need - 1] ?? 0
}

/**
 * Ask the shell once per round to train it: an open round at once; a closed round we have no delta in (we joined after
 * it closed here) only while it still takes late deltas (rules.ts `wantsLateDeltas`: short of deltas here, or past
 * its first attempt). Without the second case a round whose delta was refused after its close waited forever for a
 * delta that nobody would train (a late joiner skipped the closed round).
 */
function train (ctx: RoundContext): boolean {
  const r = ctx.current
  if (!ctx.state.joined || r.startedAt == null || r.trainRequested || r.ownDeltaCid != null) return false
  if (r.closedAt != null && !wantsLateDeltas(r, ctx.job)) return false
  r.trainRequested = true
  ctx.out.push({ kind: 'train', round: r.round, baseModelCid: r.baseModelCid, modelHash: r.baseModelHash })
  return true
}

/**
 * When we seal the current attempt. Attempt 0: the aggregate of our usable deltas. Later attempts (Paxos phase 2):
 * once a strict majority of participants promised the attempt, re-propose the highest-attempt aggregate they report
 * as approved (so an aggregate a majority may have accepted is never replaced), or a fresh aggregate if none is.
 */
function seal (ctx: RoundContext, now: number): boolean {
  const r = ctx.current
  if (!ctx.state.joined || r.closedAt == null || r.sealedAttempts.includes(r.attempt)) return false
  if (ctx.aggregatorFor(r.round, r.attempt) !== ctx.self) return false
  if (r.attempt > 0) {
    const electorate = ctx.electorate()
    const promises = r.promises.filter(p => p.attempt === r.attempt && electorate.includes(p.from))
    // a strict majority of the electorate, or all of the creator's reduced electorate (round/electorate.ts)
    if (!isQuorum(ctx, promises.map(p => p.from), r.attempt)) return false
    // a lock whose seal a strict majority rejected can never have been accepted: not by a majority, nor by a reduced
    // electorate (at least half of the voters: it meets every strict majority), whether or not we hold the creator's
    // record. Exactly half (the acceptance's 'rejected' for an even electorate) is not enough: the other half may be the
    // reduced electorate that accepted it.
    const locks = promises.flatMap(p => (p.locked == null ? [] : [p.locked]))
      .filter(l => !rejectedByMajority(ctx, { jobId: ctx.job.id, round: r.round, ...l }))
      .sort((a, b) => b.attempt - a.attempt || compareIds(a.aggregateCid, b.aggregateCid))
    if (locks.length > 0) {
      const locked = ctx.state.seals.find(e => e.seal.round === r.round && e.seal.aggregateCid === locks[0].aggregateCid)
      if (locked == null) return false // we never saw that seal: let the attempt time out
      // re-proposed, not re-computed: we vote on it like anyone else (it may be the one we found wrong)
      ctx.publishSeal({ ...locked.seal, attempt: r.attempt } satisfies RoundSeal, now, false)
      return true
    }
  }
  const usable = usableDeltas(r)
  const req = r.aggregateRequest
  if (req != null && req.attempt === r.attempt && req.cids.every(c => usable.some(d => d.cid === c))) return false
  if (usable.length < ctx.job.minParticipants) return false
  r.aggregateRequest = { attempt: r.attempt, cids: usable.map(d => d.cid) }
  ctx.out.push({ kind: 'aggregate', round: r.round, attempt: r.attempt, baseModelCid: r.baseModelCid, deltas: sealedDeltas(usable) })
  return true
}

/**
 * Check, verify and vote on the current round's seals that are ours to judge: from the rotation's aggregator, for our
 * current attempt (an earlier one is refused: we promised), consistent with the deltas we saw, and recomputed.
 */
function vote (ctx: RoundContext): boolean {
  if (!ctx.state.joined || !ctx.electorate().includes(ctx.self)) return false
  const r = ctx.current
  let changed = false
  for (const e of ctx.state.seals) {
    if (e.seal.round !== r.round || e.status === 'voted') continue
    if (e.from !== ctx.aggregatorFor(r.round, e.seal.attempt) || e.seal.attempt > r.attempt) continue
    if (judge(ctx, e)) changed = true
  }
  return changed
}

/** Move one seal along (vote or verify); false when it must wait (for deltas, or for the shell's verdict). */
function judge (ctx: RoundContext, e: SealEntry): boolean {
  const r = ctx.current
  if (e.seal.attempt < r.attempt) { ctx.castVote(e, false, 'stale'); return true }
  if (e.equivocated) { ctx.castVote(e, false, 'equivocation'); return true }
  const known = r.verdicts[e.seal.aggregateCid]
  if (e.status === 'new') {
    const check = checkSeal(e.seal, r, ctx.job)
    if (check.kind === 'wait') return false
    if (check.kind === 'bad') {
      if (check.blame) ctx.penalise(e.from, 'bad-seal')
      ctx.castVote(e, false, check.reason)
      return true
    }
    if (known === undefined) {
      e.status = 'verifying'
      ctx.out.push({ kind: 'verify', seal: e.seal })
      return true
    }
  }
  if (known === undefined) return false
  ctx.castVote(e, known, known ? undefined : 'mismatch')
  return true
}
