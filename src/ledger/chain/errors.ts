/** The chain client's error codes and their kinds: one table, one class. */
import { defineErrors } from '../../common/errors.js'

/** Every code ChainError carries, with its kind. */
export const CHAIN_ERRORS = {
  /** A wrong passphrase or a damaged wallet keystore. */
  ERR_WALLET_KEYSTORE: 'forbidden',
  /** No wallet keystore at the path. */
  ERR_WALLET_MISSING: 'not-found',
  /** A wallet keystore already exists where a new one would be written. */
  ERR_WALLET_EXISTS: 'conflict',
  /** Every RPC URL failed (connection refused, reset, timed out). */
  ERR_RPC_UNAVAILABLE: 'unavailable',
  /** The RPC answers for another chain id than the network's. */
  ERR_WRONG_CHAIN: 'conflict',
  /** An intent's input is malformed (address, data, proof). */
  ERR_INTENT_INVALID: 'invalid',
  /** An intent id was reused with different content. */
  ERR_INTENT_CONFLICT: 'conflict',
  /** No intent with that id. */
  ERR_INTENT_NOT_FOUND: 'not-found',
  /** The intent's transaction reverted (or would: its gas estimate reverted). */
  ERR_INTENT_FAILED: 'conflict',
  /** The client is not started (or was stopped). */
  ERR_NOT_STARTED: 'unavailable',
  /** A stored record does not parse (a bug, or a damaged state database). */
  ERR_STATE: 'internal'
} as const

/** The codes of ChainError. */
export type ChainErrorCode = keyof typeof CHAIN_ERRORS

/** Chain client failures: keystore, RPC, intents. */
export const ChainError = defineErrors('ChainError', CHAIN_ERRORS)
/** An instance of ChainError. */
export type ChainError = InstanceType<typeof ChainError>
