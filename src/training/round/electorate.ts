/**
 * A voter lost for good must not stall a job (issue 11). A round's electorate E is the previous seal's contributors;
 * when half of an even E is gone (two voters, one killed for good or gone after `train leave`), no strict majority is
 * possible and Paxos alone waits forever. The rule, applied identically by every node:
 *
 * - Authority: only the job's creator (it already signs the job and its stop) may shrink an electorate. After the round
 *   has needed STALL_ATTEMPTS attempts, the creator signs one `electorate` record for it: E' = the members of E it still
 *   hears from (joined, and promised at most one attempt behind it), applied from its next attempt. It signs one only
 *   when a strict majority of E is NOT live (else Paxos already works) and E' holds at least half of E (else a majority
 *   it cannot hear may have accepted an aggregate nobody live knows of: waiting is the only safe answer).
 * - Validity: a record counts for round r when the creator signed it, it is the first one for r, E' is a subset of r's
 *   electorate and 2|E'| >= |E|.
 * - Quorums: from attempt `fromAttempt` on, a set of promises, or of approvals, is a quorum when it is a strict majority
 *   of E (as before) or when it is *all* of E'. Any two such quorums meet: two majorities of E do, and every majority of
 *   E meets E' because |E'| >= |E| / 2. So the Paxos promise rule still holds: an aggregate a quorum may have accepted
 *   is reported by someone in the next quorum of promises and re-proposed. An aggregator drops a reported lock only
 *   when a *strict* majority of E voted against it (exactly half is not enough: the other half may be E' and have
 *   accepted it), a test that needs no knowledge of the record.
 * - The aggregator rotation stays over E (the dead member's attempts time out): a node that applies the record and one
 *   that has not yet seen it agree on who proposes each attempt, so there is still one proposal per attempt, which the
 *   Paxos argument needs. A node that sees the record late only changes which quorums it recognises, never who seals.
 *
 * Pure; internal to src/training/round.
 */
import type { SealRef } from '../../consensus/index.js'
import type { ElectorateChange } from '../protocol/messages.js'
import type { RoundContext } from './context.js'
import { ROUND_LIMITS } from './state.js'
import type { ElectorateRecord } from './types.js'

/** Attempts a round must have needed before its creator shrinks its electorate. */
export const STALL_ATTEMPTS = 3

/** The records we hold (older snapshots have none). */
function records (ctx: RoundContext): ElectorateRecord[] {
  ctx.state.reconfigs ??= []
  return ctx.state.reconfigs
}

/** The valid record for the current round, if any (a subset of its electorate, at least half of it). */
export function currentRecord (ctx: RoundContext): ElectorateRecord | undefined {
  const r = ctx.current
  const rec = records(ctx).find(x => x.round === r.round)
  if (rec == null) return undefined
  const e = ctx.electorate()
  return rec.electorate.length > 0 && rec.electorate.every(p => e.includes(p)) && 2 * rec.electorate.length >= e.length ? rec : undefined
}

/** The reduced electorate that may form a quorum at `attempt` of the current round, if a record applies there. */
export function reducedAt (ctx: RoundContext, attempt: number): string[] | undefined {
  const rec = currentRecord(ctx)
  return rec != null && attempt >= rec.fromAttempt ? rec.electorate : undefined
}

/** Whether `members` (promisers or approvers) form a quorum at `attempt` of the current round. */
export function isQuorum (ctx: RoundContext, members: Iterable<string>, attempt: number): boolean {
  const set = new Set(members)
  const e = ctx.electorate()
  if (2 * e.filter(p => set.has(p)).length > e.length) return true
  const reduced = reducedAt(ctx, attempt)
  return reduced != null && reduced.every(p => set.has(p))
}

/**
 * Whether the acceptance accepts a seal over a whole electorate (the round's, or our participants for a later round).
 * A certifying acceptance (seals through consensus) asks for a QC naming that electorate, whatever its size: its
 * `outcome` over one voter answers the per-voter question from counted votes, which is no certificate.
 */
export function acceptedBy (ctx: RoundContext, ref: SealRef, electorate: readonly string[]): boolean {
  const a = ctx.acceptance
  return a.certified != null ? a.certified(ref, electorate) : a.outcome(ref, electorate) === 'accepted'
}

/**
 * Whether a seal of the current round is accepted: by a majority of the electorate, or by all of a record's electorate.
 * Through consensus the latter also needs a QC of a proposal naming the reduced electorate (types.ts RoundAcceptance),
 * so a node that adopts it can show the certificate like any other adoption.
 */
export function acceptedNow (ctx: RoundContext, ref: SealRef): boolean {
  if (acceptedBy(ctx, ref, ctx.electorate())) return true
  const reduced = reducedAt(ctx, ref.attempt)
  if (reduced == null) return false
  // one voter's outcome is 'accepted' exactly when that voter approved (and did not equivocate)
  if (!reduced.every(p => ctx.acceptance.outcome(ref, [p]) === 'accepted')) return false
  return ctx.acceptance.certified?.(ref, reduced) ?? true
}

/**
 * Whether a strict majority of the current electorate voted against a seal (rejected it, or approved another aggregate
 * in its attempt): then no quorum of either kind can have accepted it.
 */
export function rejectedByMajority (ctx: RoundContext, ref: SealRef): boolean {
  const e = ctx.electorate()
  // one voter's outcome is 'rejected' exactly when that voter cannot approve this seal any more
  return 2 * e.filter(p => ctx.acceptance.outcome(ref, [p]) === 'rejected').length > e.length
}

/** A record from the wire: kept if the creator signed it and it is the first for its round (current or later). */
export function onElectorate (ctx: RoundContext, from: string, msg: ElectorateChange): void {
  if (from !== ctx.job.creator || msg.round < ctx.current.round) return
  keep(ctx, { round: msg.round, fromAttempt: msg.fromAttempt, electorate: [...msg.electorate] })
}

function keep (ctx: RoundContext, rec: ElectorateRecord): boolean {
  const all = records(ctx)
  // the first record of a round wins: an honest creator signs one (it is in the snapshot before it is published)
  if (all.some(x => x.round === rec.round)) return false
  if (all.filter(x => x.round >= ctx.current.round).length >= ROUND_LIMITS.history) return false
  all.push(rec)
  return true
}

/** Forget records of rounds that can no longer matter (kept a while: the creator re-announces them to stragglers). */
export function pruneRecords (ctx: RoundContext, round: number): void {
  ctx.state.reconfigs = records(ctx).filter(x => x.round >= round - ROUND_LIMITS.history)
}

/**
 * Members of the current electorate we still hear from: us while joined; others that have not left and promised this
 * round at most one attempt behind us.
 */
export function liveMembers (ctx: RoundContext): string[] {
  const r = ctx.current
  return ctx.electorate().filter(p => p === ctx.self
    ? ctx.state.joined
    : ctx.isParticipant(p) && (Object.hasOwn(r.promisedAttempts, p) ? r.promisedAttempts[p] : 0) >= r.attempt - 1)
}

/** The creator's step: sign a record for a round stalled by the loss of half its electorate (see the module comment). */
export function reconfigure (ctx: RoundContext): boolean {
  const r = ctx.current
  if (ctx.self !== ctx.job.creator || r.closedAt == null || r.attempt < STALL_ATTEMPTS) return false
  if (records(ctx).some(x => x.round === r.round)) return false
  const e = ctx.electorate()
  const live = liveMembers(ctx)
  if (live.length === 0 || 2 * live.length > e.length || 2 * live.length < e.length) return false
  const rec: ElectorateRecord = { round: r.round, fromAttempt: r.attempt + 1, electorate: live }
  if (!keep(ctx, rec)) return false
  ctx.publish({ type: 'electorate', jobId: ctx.job.id, ...rec, electorate: [...live] })
  return true
}

/** The records the creator repeats (so a node that missed one, or restarted, still learns it). */
export function recordMessages (ctx: RoundContext): ElectorateChange[] {
  return records(ctx).map(x => ({ type: 'electorate', jobId: ctx.job.id, round: x.round, fromAttempt: x.fromAttempt, electorate: [...x.electorate] }))
}
