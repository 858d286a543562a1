/**
 * Reads an intent's proof on chain: whether the settlement's effect exists, whoever caused it. Vault locks exist once
 * opened (their id is `keccak256(payer, provider, salt)`, known before sending); a voucher is settled once the lock's
 * redeemed total reaches its cumulative amount.
 */
import type { Provider } from 'ethers'
import { attachComputeMarket, attachCreditVault, errorOf } from '../contracts/index.js'
import type { IntentProof } from './types.js'

/** Whether `proof` holds at block `blockTag`. */
export type ProofReader = (proof: IntentProof, blockTag: number | 'latest') => Promise<boolean>

/** The proof reader over `provider` (reads the CreditVault's `getLock`). */
export function proofHolds (provider: Provider): ProofReader {
  return async (proof, blockTag) => {
    switch (proof.type) {
      case 'nonce':
        return false
      case 'vault-lock': {
        const lock = await attachCreditVault(proof.vault, provider).getLock(proof.lockId, { blockTag })
        return lock.amount > 0n
      }
      case 'vouchers': {
        const vault = attachCreditVault(proof.vault, provider)
        for (const item of proof.items) {
          const lock = await vault.getLock(item.lockId, { blockTag })
          if (lock.redeemed < BigInt(item.cumulativeAmount)) return false
        }
        return true
      }
    }
  }
}

/** The custom error name a reverted estimate carries (vault or market), else the node's message. */
export function describeRevert (to: string, err: unknown): string {
  const e = errorOf(attachCreditVault(to), err) ?? errorOf(attachComputeMarket(to), err)
  return e !== undefined ? e.name : String((err as Error).message ?? err).slice(0, 200)
}
