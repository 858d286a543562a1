/**
 * The schemas of the chain client's stored records (TypeBox): settlement intents with their proofs, transactions and
 * receipts. The types are `Static<>` of these; the API can describe `GET /v1/ledger/settlements` with them.
 */
import { Type, type Static } from '@sinclair/typebox'

const Address = Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' })
const Bytes32 = Type.String({ pattern: '^0x[0-9a-fA-F]{64}$' })
const Hex = Type.String({ pattern: '^0x[0-9a-fA-F]*$' })
const Wei = Type.String({ pattern: '^[0-9]{1,78}$', description: 'an amount in wei, decimal' })

/**
 * What proves on chain that a settlement happened, whoever sent it. The client checks it before sending, after an RPC
 * error, after a reorg and at every start, so an intent is sent at most once and completes exactly once.
 * - `vault-lock`: the CreditVault holds lock `lockId` (lock ids are `keccak256(payer, provider, salt)`, known before sending).
 * - `vouchers`: for each item, the vault lock's redeemed total is >= `cumulativeAmount` (decimal wei).
 * - `nonce`: no application id exists (a deposit, a transfer): the intent's own nonce decides: the one of its signed
 *   transactions that the chain mined at that nonce is the one that happened (all are recorded before any is broadcast).
 */
export const IntentProofSchema = Type.Union([
  Type.Object({ type: Type.Literal('vault-lock'), vault: Address, lockId: Bytes32 }),
  Type.Object({ type: Type.Literal('vouchers'), vault: Address, items: Type.Array(Type.Object({ lockId: Bytes32, cumulativeAmount: Wei }), { minItems: 1 }) }),
  Type.Object({ type: Type.Literal('nonce') })
])
/** See `IntentProofSchema`. */
export type IntentProof = Static<typeof IntentProofSchema>

/**
 * Where an intent is: `prepared` (persisted; no nonce, nothing signed yet), `sent` (a nonce was reserved and a signed
 * transaction recorded in one batch, then broadcast), `mined` (a receipt is known, waiting for the confirmation rule),
 * `done` (confirmed, or the proof holds on chain), `failed` (reverted and the proof does not hold, or the estimate
 * reverted before sending). A `done` intent whose block is reorged away (and whose proof no longer holds) goes back to
 * `sent` and its signed transaction is rebroadcast.
 */
export const IntentStateSchema = Type.Union([Type.Literal('prepared'), Type.Literal('sent'), Type.Literal('mined'), Type.Literal('done'), Type.Literal('failed')])
/** See `IntentStateSchema`. */
export type IntentState = Static<typeof IntentStateSchema>

/** One signed transaction of an intent (the first send, then each bump-and-replace). */
export const IntentTxSchema = Type.Object({
  hash: Bytes32,
  /** The signed raw transaction: rebroadcast as-is after an outage or a reorg. */
  raw: Hex,
  maxFeePerGas: Wei,
  maxPriorityFeePerGas: Wei,
  /** ms since the epoch (client clock). */
  signedAt: Type.Integer()
})
/** See `IntentTxSchema`. */
export type IntentTx = Static<typeof IntentTxSchema>

/** The receipt that an intent's transaction got. */
export const IntentReceiptSchema = Type.Object({
  hash: Bytes32,
  blockNumber: Type.Integer({ minimum: 0 }),
  blockHash: Bytes32,
  status: Type.Integer({ minimum: 0, maximum: 1 }),
  gasUsed: Wei
})
/** See `IntentReceiptSchema`. */
export type IntentReceipt = Static<typeof IntentReceiptSchema>

/** An intent as persisted (JSON: bigints as decimal strings). */
export const IntentRecordSchema = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 200 }),
  kind: Type.String(),
  to: Address,
  data: Hex,
  value: Wei,
  gasLimit: Wei,
  proof: IntentProofSchema,
  state: IntentStateSchema,
  /** The account nonce reserved for it (from `sent` on), persisted in the same batch as its first signed transaction. */
  nonce: Type.Optional(Type.Integer({ minimum: 0 })),
  txs: Type.Array(IntentTxSchema),
  receipt: Type.Optional(IntentReceiptSchema),
  /** `receipt`: our transaction's confirmed receipt; `proof`: the proof held on chain (e.g. after a crash or a reorg). */
  doneBy: Type.Optional(Type.Union([Type.Literal('receipt'), Type.Literal('proof')])),
  error: Type.Optional(Type.String()),
  /** The head block when it became `done` or `failed` (reorg watch window). */
  doneAtBlock: Type.Optional(Type.Integer()),
  /** Submission order (nonces are reserved in this order; gap fillers are 0). */
  seq: Type.Integer({ minimum: 0 }),
  createdAt: Type.Integer(),
  updatedAt: Type.Integer()
})
/** See `IntentRecordSchema`. */
export type IntentRecord = Static<typeof IntentRecordSchema>
