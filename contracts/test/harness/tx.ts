/**
 * Small helpers shared by the contract tests: wait for a sent transaction's receipt, and make fresh lock salts.
 */
import { hexlify, randomBytes } from 'ethers'
import type { ContractTransactionResponse, TransactionReceipt } from 'ethers'

/** Waits for a contract call's transaction to be mined and returns its receipt (throws if it reverted). */
export async function mined (p: Promise<ContractTransactionResponse>): Promise<TransactionReceipt> {
  const receipt = await (await p).wait()
  if (receipt === null) throw new Error('no receipt')
  return receipt
}

/** A random 96-bit lock salt, as a client picks one. */
export function freshSalt (): bigint {
  return BigInt(hexlify(randomBytes(12)))
}
