/**
 * Why a round is not moving: a plain summary of what the current attempt waits for, for the shell to log at info level
 * once a round needs more than one attempt. Pure; internal to src/training/round (exposed through JobMachine.stall).
 */
import type { RoundContext } from './context.js'
import { refOf } from './context.js'
import { currentRecord, STALL_ATTEMPTS } from './electorate.js'
import { starved, usableDeltas } from './rules.js'
import type { RoundStall } from './types.js'

export function diagnose (ctx: RoundContext): RoundStall | null {
  const r = ctx.current
  if (ctx.state.finished != null || r.startedAt == null) return null
  const electorate = ctx.electorate()
  const majority = Math.floor(electorate.length / 2) + 1
  const promisedAttempts: Record<string, number> = {}
  for (const p of electorate) promisedAttempts[p] = p === ctx.self ? r.attempt : Object.hasOwn(r.promisedAttempts, p) ? r.promisedAttempts[p] : 0
  const promised = [...new Set(r.promises.filter(p => p.attempt === r.attempt && electorate.includes(p.from)).map(p => p.from))].sort()
  // members that have promised nothing for a while (two attempts or more behind us) look gone: stopped, or cut off
  const silent = electorate.filter(p => p !== ctx.self && r.attempt >= 2 && promisedAttempts[p] <= r.attempt - 2)
  const aggregator = ctx.aggregatorFor(r.round, r.attempt)
  const seals = ctx.state.seals.filter(e => e.seal.round === r.round)
  const usable = usableDeltas(r).length
  let reason: string
  if (r.closedAt == null) {
    reason = usable < ctx.job.minParticipants
      ? `collecting: ${usable} usable deltas of the ${ctx.job.minParticipants} needed`
      : 'collecting: waiting for the deadline or the remaining participants'
  } else if (electorate.length - silent.length < majority && currentRecord(ctx) == null) {
    const live = electorate.length - silent.length
    const what = 2 * live < electorate.length
      ? 'a majority is gone: waiting for them to come back (an aggregate they accepted may exist)'
      : ctx.job.creator === ctx.self
        ? `half is gone: after attempt ${STALL_ATTEMPTS} we (the job's creator) name the live half the electorate`
        : `half is gone: after attempt ${STALL_ATTEMPTS} the job's creator (${ctx.job.creator}) names the live half the electorate`
    reason = `only ${live} of ${electorate.length} electorate members answer, ${majority} needed (${silent.join(', ')} silent); ${what}`
  } else if (aggregator === ctx.self) {
    reason = r.attempt > 0 && promised.length < majority
      ? `we seal attempt ${r.attempt} and wait for promises: ${promised.length} of ${majority} needed`
      : `we seal attempt ${r.attempt}: aggregating or waiting for votes`
  } else if (!seals.some(e => e.seal.attempt === r.attempt && e.from === aggregator)) {
    reason = `waiting for the seal of attempt ${r.attempt} from ${aggregator ?? 'nobody'}`
  } else {
    const e = seals.find(x => x.seal.attempt === r.attempt && x.from === aggregator)
    const outcome = e == null ? 'pending' : ctx.acceptance.outcome(refOf(e.seal), electorate)
    reason = `the seal of attempt ${r.attempt} is ${outcome}: waiting for votes (${majority} of ${electorate.length} approvals needed)`
  }
  const rec = currentRecord(ctx)
  if (rec != null) reason += `; the creator reduced the electorate to ${rec.electorate.join(', ')} from attempt ${rec.fromAttempt}`
  // no fresh aggregate until a delta arrives from a participant that trains the round late (progress.ts train())
  if (starved(r, ctx.job)) reason += `; short of deltas: ${usable} usable of the ${ctx.job.minParticipants} needed (one was refused after the close), waiting for a late one`
  return { round: r.round, attempt: r.attempt, electorate, majority, aggregator, promised, promisedAttempts, silent, usableDeltas: usable, lock: ctx.state.lock?.round === r.round ? ctx.state.lock.aggregateCid : null, reason }
}
