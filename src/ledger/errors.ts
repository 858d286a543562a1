/** The ledger service's error codes and their kinds: one table, one class (the chain client has its own). */
import { defineErrors } from '../common/errors.js'

/**
 * Every code LedgerError carries, with its kind (the admin API derives the HTTP status from it: invalid 400,
 * conflict and unavailable 409, not-found 404; never a 5xx for a chain that does not answer).
 */
export const LEDGER_ERRORS = {
  /** A malformed FTNS amount: negative, too many decimals, not a number, zero where a positive one is needed. */
  ERR_AMOUNT: 'invalid',
  /** An address that does not parse. */
  ERR_ADDRESS: 'invalid',
  /** The wallet holds fewer FTNS (or the vault less free balance) than the request needs. */
  ERR_INSUFFICIENT_FUNDS: 'conflict',
  /** No withdrawal is pending, or it is not due yet. */
  ERR_WITHDRAWAL: 'conflict',
  /** The ledger is switched off on this node (`ledger.enabled: false`). */
  ERR_LEDGER_DISABLED: 'unavailable',
  /** The ledger has not finished starting (chain, contracts, wallet). */
  ERR_LEDGER_NOT_READY: 'unavailable',
  /** No contract addresses for this network (configs/networks/<network>.yaml, or `meshnode contracts deploy`). */
  ERR_NOT_DEPLOYED: 'unavailable',
  /** The chain's RPC did not answer, or answered with an error. */
  ERR_CHAIN_UNAVAILABLE: 'unavailable',
  /** The RPC serves another chain than the network's chain id. */
  ERR_CHAIN_MISMATCH: 'conflict',
  /** The embedded anvil could not be started. */
  ERR_ANVIL: 'unavailable',
  /** A transaction reverted or could not be sent. */
  ERR_TX_FAILED: 'unavailable',
  /** The faucet exists only on the `local` network. */
  ERR_NO_FAUCET: 'forbidden',
  /** The wallet keystore cannot be read or decrypted. */
  ERR_WALLET: 'unavailable'
} as const

/** The codes of LedgerError. */
export type LedgerErrorCode = keyof typeof LEDGER_ERRORS

/** Ledger failures a caller can act on: bad amounts, insufficient funds, a chain that is not there. */
export const LedgerError = defineErrors('LedgerError', LEDGER_ERRORS)
/** An instance of LedgerError. */
export type LedgerError = InstanceType<typeof LedgerError>
