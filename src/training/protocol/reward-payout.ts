/**
 * The `reward-payout` proposal kind's payload and its rules (pure). A rewarded job's creator proposes, after each
 * accepted round, the round's payouts `{ jobId, round, payouts: [{ peerId, wei }] }`; every node votes yes iff they
 * equal the payouts it computed itself from the seal it adopted for that round (`core/payouts.ts`), and the creator
 * releases the round's vouchers only once the proposal is accepted. Consensus imports none of this: training
 * registers the kind (service/payout-kind.ts).
 */
import { Type, type Static } from '@sinclair/typebox'
import { roundBudget } from '../core/payouts.js'
import { JobIdSchema, WeiSchema, type JobSpec } from './job-schema.js'

/** The proposal kind's name. */
export const REWARD_PAYOUT_KIND = 'reward-payout'

/** At most this many payouts in one proposal (a round's seal lists at most this many deltas in practice). */
const MAX_PAYOUTS = 1024

/** One contributor's payout in a round (wei as a decimal string). */
export const PayoutEntrySchema = Type.Object({
  peerId: Type.String({ minLength: 1, maxLength: 128 }),
  wei: WeiSchema
}, { additionalProperties: false })
export type PayoutEntry = Static<typeof PayoutEntrySchema>

/** A `reward-payout` proposal's payload: the payouts of one accepted round, sorted by peer id. */
export const RewardPayoutPayloadSchema = Type.Object({
  jobId: JobIdSchema,
  round: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
  payouts: Type.Array(PayoutEntrySchema, { maxItems: MAX_PAYOUTS })
}, { additionalProperties: false })
export type RewardPayoutPayload = Static<typeof RewardPayoutPayloadSchema>

/**
 * What is wrong with a payload that fits the schema (undefined: nothing). Without the job's spec only the shape is
 * checked (peer ids strictly ascending, so one peer appears once and equal payouts encode equally); with it, the job
 * must be rewarded, the round one of its rounds, and the payouts must sum to that round's budget exactly.
 */
export function rewardPayoutIssue (p: RewardPayoutPayload, spec?: Pick<JobSpec, 'rounds' | 'reward'>): string | undefined {
  for (let i = 1; i < p.payouts.length; i++) {
    if (!(p.payouts[i - 1].peerId < p.payouts[i].peerId)) return `payouts must be sorted by peer id, each peer once (at ${i})`
  }
  if (spec == null) return undefined
  if (spec.reward == null) return `job ${p.jobId} carries no reward`
  if (p.round >= spec.rounds) return `round ${p.round} is past the job's ${spec.rounds} rounds`
  const budget = roundBudget(BigInt(spec.reward.totalWei), spec.rounds, p.round)
  const sum = p.payouts.reduce((s, x) => s + BigInt(x.wei), 0n)
  if (sum !== budget) return `payouts sum to ${sum} wei, round ${p.round}'s budget is ${budget} wei`
  return undefined
}

/** Two payout lists are the same: same peers in the same order, same wei. */
export function samePayouts (a: readonly PayoutEntry[], b: readonly PayoutEntry[]): boolean {
  return a.length === b.length && a.every((x, i) => x.peerId === b[i].peerId && BigInt(x.wei) === BigInt(b[i].wei))
}

/** The payload the creator proposes for a round it reported (undefined when the report has no payouts). */
export function rewardPayoutPayload (jobId: string, report: { round: number, payouts?: readonly PayoutEntry[] }): RewardPayoutPayload | undefined {
  if (report.payouts == null) return undefined
  return { jobId, round: report.round, payouts: report.payouts.map(p => ({ peerId: p.peerId, wei: p.wei })) }
}

/** A node's automatic verdict on a payout proposal: `pending` while it cannot judge (job unknown, seal not adopted). */
export type PayoutVerdict = 'yes' | 'no' | 'pending'

/**
 * This node's verdict: yes iff the payload equals the payouts it computed from the seal it adopted for that round;
 * it waits while the job is unknown here or the round's seal is not adopted yet; no on anything else.
 */
export function payoutVerdict (
  p: RewardPayoutPayload,
  job: { spec: Pick<JobSpec, 'rounds' | 'reward'>, reports: ReadonlyArray<{ round: number, payouts?: readonly PayoutEntry[] }> } | undefined
): PayoutVerdict {
  if (job == null) return 'pending'
  if (rewardPayoutIssue(p, job.spec) !== undefined) return 'no'
  const own = job.reports.find(r => r.round === p.round)?.payouts
  if (own == null) return 'pending'
  return samePayouts(p.payouts, own) ? 'yes' : 'no'
}
