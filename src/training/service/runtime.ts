/** One job as the service runs it on this node: the spec, its round machine, local data and round bookkeeping. */
import type { JobSpec } from '../protocol/job-schema.js'
import type { JoinJobRequest } from '../protocol/requests.js'
import type { JobMachine } from '../round/index.js'
import type { TopKCompressor } from '../core/topk-compressor.js'
import type { RoundReport } from './api-types.js'
import type { NodeEvaluation } from './pooled.js'
import type { LocalData } from './local-data.js'

/** A rewarded job's book on this node: contributors' chain addresses (creator) and the vouchers sent or received. */
export interface RewardBook {
  payees: Record<string, string>
  vouchers: Array<{ round: number, peerId: string, amountWei: string, direction: 'sent' | 'received', voucher: { payer: string, provider: string, salt: string, cumulativeAmount: string, r: string, vs: string } }>
  /** Done here: the creator returned the reserve's rest to its free balance; a contributor redeemed all after the job ended. */
  closed?: boolean
  /**
   * The creator's rounds released by an accepted `reward-payout` proposal (when consensus is live): the accepted
   * payouts by round; a round's vouchers are signed only once it is here and equals the payouts computed here.
   */
  approved?: Record<string, Array<{ peerId: string, wei: string }>>
}

/** A job's run-time state on this node. */
export interface JobRuntime {
  spec: JobSpec
  machine: JobMachine
  /** Number of model parameters; the model's input shape. */
  params: number
  inputShape: number[]
  join?: JoinJobRequest
  data?: LocalData
  left: boolean
  /** The creator stopped the job for the whole mesh: nothing more is trained, sealed or voted here. */
  stopped?: { round: number, at: number, reason?: string }
  reports: RoundReport[]
  /** Evaluations of accepted models from peers, by round, until the round's report takes them (not persisted). */
  evaluations?: Map<number, NodeEvaluation[]>
  roundStartedAt: number
  /** Training bytes of the current round: our deltas stored for peers (sent) and what we fetched (received). */
  bytes: { sent: number, received: number }
  /** Serialises the machine's events. */
  queue: Promise<void>
  timer?: NodeJS.Timeout
  topk?: TopKCompressor
  /** A rewarded job's vouchers and payees on this node (service/rewards.ts; persisted in its own sublevel). */
  rewards?: RewardBook
  /** Deltas fetched as soon as they were announced, by CID (see RoundWork.prefetch). */
  prefetched: Map<string, { round: number, from: string, bytes: Promise<Uint8Array>, startedAt: number }>
}
