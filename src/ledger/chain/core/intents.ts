/**
 * The settlement intent state machine (pure): given an intent and what the chain shows now, the one next step.
 *
 * Exactly-once rests on three facts: (1) every transaction of an intent (first send, bumps) uses the one nonce reserved
 * for it, so at most one of them is ever mined; (2) each is recorded (hash and raw bytes) before it is broadcast, so
 * after a crash the client knows everything that may be on the wire; (3) the on-chain proof (a vault lock id exists,
 * a voucher's redeemed total) is checked before a nonce is reserved and whenever our own receipt is not conclusive,
 * and the contracts themselves refuse a second lock with the same id or a second redeem of the same amount.
 */
import type { IntentReceipt, IntentRecord } from '../types.js'

/** What the chain shows about one intent now. */
export interface IntentObservation {
  /** Client clock, ms. */
  now: number
  /** The canonical receipt of any of the intent's transactions, or null (none mined, or reorged away). */
  receipt: IntentReceipt | null
  /** Whether the intent's proof holds on chain (always false for `nonce` proofs). */
  proofHolds: boolean
  /** The account's nonce at the highest confirmed block: every nonce below it is final. */
  confirmedNonce: number
  /** The highest confirmed block number. */
  confirmedUpTo: number
  /** A pending transaction this long without a receipt is replaced with bumped fees. */
  stallMs: number
  /** True when the last broadcast may not have reached the node (after a restart or an RPC error). */
  unsure: boolean
}

/** The next step for an intent. */
export type IntentStep =
  | { do: 'wait' }
  | { do: 'assign' }
  | { do: 'rebroadcast' }
  | { do: 'bump' }
  | { do: 'mined', receipt: IntentReceipt }
  | { do: 'unmined' }
  | { do: 'reopen' }
  | { do: 'done', by: 'receipt' | 'proof', receipt?: IntentReceipt }
  | { do: 'fail', error: string }

function settle (receipt: IntentReceipt, proofHolds: boolean): IntentStep {
  if (receipt.status === 1) return { do: 'done', by: 'receipt', receipt }
  // our transaction reverted; if the effect happened anyway (someone else's transaction), the intent is done
  if (proofHolds) return { do: 'done', by: 'proof', receipt }
  return { do: 'fail', error: `transaction ${receipt.hash} reverted` }
}

/** The next step for `intent` given `obs`. */
export function nextIntentStep (intent: IntentRecord, obs: IntentObservation): IntentStep {
  switch (intent.state) {
    case 'prepared':
      return obs.proofHolds ? { do: 'done', by: 'proof' } : { do: 'assign' }
    case 'sent': {
      const r = obs.receipt
      if (r !== null) return r.blockNumber <= obs.confirmedUpTo ? settle(r, obs.proofHolds) : { do: 'mined', receipt: r }
      const nonce = intent.nonce ?? -1
      if (nonce < obs.confirmedNonce) {
        // the nonce is final and none of our transactions holds it
        return obs.proofHolds ? { do: 'done', by: 'proof' } : { do: 'fail', error: `nonce ${nonce} was used by a transaction this client did not record` }
      }
      const last = intent.txs[intent.txs.length - 1]
      if (last === undefined) return { do: 'assign' }
      if (obs.now - last.signedAt >= obs.stallMs) return { do: 'bump' }
      return obs.unsure ? { do: 'rebroadcast' } : { do: 'wait' }
    }
    case 'mined': {
      const r = obs.receipt
      if (r === null) return { do: 'unmined' }
      if (r.blockNumber <= obs.confirmedUpTo) return settle(r, obs.proofHolds)
      if (intent.receipt === undefined || r.blockHash !== intent.receipt.blockHash || r.hash !== intent.receipt.hash) return { do: 'mined', receipt: r }
      return { do: 'wait' }
    }
    case 'done': {
      // watched for a while after completion: a reorg may take the effect away again
      if (obs.proofHolds) return { do: 'wait' }
      if (intent.doneBy === 'receipt' && obs.receipt === null) return { do: 'unmined' }
      if (intent.doneBy === 'proof' && intent.proof.type !== 'nonce' && (obs.receipt === null || obs.receipt.status !== 1)) return { do: 'reopen' }
      return { do: 'wait' }
    }
    case 'failed':
      return { do: 'wait' }
  }
}
