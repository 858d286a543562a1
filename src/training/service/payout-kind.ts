/**
 * The `reward-payout` proposal kind, which training registers with consensus (consensus imports nothing of training).
 * When consensus is live, a rewarded job's creator proposes each accepted round's payouts; every node votes by its own
 * computation from the seal it adopted (protocol/reward-payout.ts), and the creator's node signs the round's vouchers
 * only once the proposal is accepted (the executor releases the round in the rewards bridge). Without a live consensus
 * (no electorate: the genesis names no pre-trusted peer) the bridge pays right after the round, as before.
 */
import { ConsensusError, type ProposalKind } from '../../consensus/index.js'
import {
  REWARD_PAYOUT_KIND, RewardPayoutPayloadSchema, payoutVerdict, rewardPayoutIssue, type PayoutEntry, type RewardPayoutPayload
} from '../protocol/reward-payout.js'
import type { JobSpec } from '../protocol/job-schema.js'

/** What the kind reads of the node's jobs and how an accepted proposal reaches the rewards bridge. */
export interface RewardPayoutHost {
  /** The job's spec and its round reports here (undefined when the job is unknown here). */
  job: (id: string) => { spec: JobSpec, reports: ReadonlyArray<{ round: number, payouts?: readonly PayoutEntry[] }> } | undefined
  /** An accepted proposal (idempotent; only the job's creator acts on it). */
  release: (payload: RewardPayoutPayload, proposalId: string) => Promise<void>
}

/** The `reward-payout` kind (default policy `auto`: every node votes by its own computation, no operator needed). */
export function rewardPayoutKind (host: RewardPayoutHost): ProposalKind<typeof RewardPayoutPayloadSchema> {
  return {
    kind: REWARD_PAYOUT_KIND,
    schema: RewardPayoutPayloadSchema,
    // the shape always; the round budget where the job is known here (a node that does not know it yet stores the
    // proposal and judges it once the announcement arrives)
    validate (p) {
      const issue = rewardPayoutIssue(p, host.job(p.jobId)?.spec)
      if (issue !== undefined) throw new ConsensusError('ERR_PAYLOAD', `${REWARD_PAYOUT_KIND} payload: ${issue}`)
    },
    assess (p) {
      const verdict = payoutVerdict(p, host.job(p.jobId))
      return verdict === 'pending' ? { valid: false, pending: true } : { valid: verdict === 'yes' }
    },
    async execute (p, ctx) {
      await host.release(p, ctx.id)
    },
    defaultPolicy: { mode: 'auto' }
  }
}
