/**
 * Order signatures: the EIP-712 order hash under the ComputeMarket's domain (chain id + contract), and the maker's
 * signature over it, recovered with secp256k1. Recovery costs ~2 ms on these machines (~500/s), and every order is
 * seen again and again (gossip duplicates, re-validation rounds, snapshots), so verdicts are cached, bounded, oldest
 * out first. The cache key is every signed field (in the EIP-712 type's order) and the signature, so a hit skips the
 * EIP-712 hashing too (~1 ms here), not only the recovery. The check is ethers' `verifyTypedData` taken apart
 * (`TypedDataEncoder.hash`, then `recoverAddress`), so the order hash it computes is kept as the order's id.
 */
import { recoverAddress, Signature } from 'ethers'
import { COMPUTE_ORDER_TYPES, computeOrderHash, marketDomain, TRADE_ORDER_TYPES, tradeOrderHash } from '../../contracts/index.js'
import type { ComputeOrder, TradeOrder } from '../../contracts/index.js'
import { refuse, type Checked } from '../errors.js'

/** A contract-typed order with its kind. */
export type OrderRef = { kind: 'compute', order: ComputeOrder } | { kind: 'trade', order: TradeOrder }

/** An order to verify: its kind, the contract-typed order, and the maker's signature (64- or 65-byte hex). */
export type SignedOrderInput = OrderRef & { signature: string }

/** The order hash of a contract-typed order under the market at `contract` on `chainId`. */
export function orderHashOf (input: OrderRef, chainId: bigint, contract: string): string {
  const domain = marketDomain(chainId, contract)
  return input.kind === 'compute' ? computeOrderHash(domain, input.order) : tradeOrderHash(domain, input.order)
}

/** Cache counters (for metrics). */
export interface VerifierStats {
  hits: number
  misses: number
  size: number
}

/** Verifies order signatures for one market contract, caching verdicts. */
export class OrderVerifier {
  private readonly cache = new Map<string, { hash: string, good: boolean }>()
  private hits = 0
  private misses = 0

  constructor (private readonly chainId: bigint, private readonly contract: string, private readonly maxEntries = 65_536) {}

  /** The order's hash if the maker signed it for this chain and contract, else a `bad-signature` refusal. */
  verify (input: SignedOrderInput): Checked<string> {
    const key = cacheKey(input)
    let verdict = this.cache.get(key)
    if (verdict === undefined) {
      this.misses++
      const hash = orderHashOf(input, this.chainId, this.contract)
      verdict = { hash, good: recovers(hash, input.signature, input.order.maker) }
      if (this.cache.size >= this.maxEntries) {
        const oldest = this.cache.keys().next()
        if (oldest.done !== true) this.cache.delete(oldest.value)
      }
      this.cache.set(key, verdict)
    } else {
      this.hits++
    }
    return verdict.good
      ? { ok: true, value: verdict.hash }
      : refuse('bad-signature', `signature of ${verdict.hash} does not recover to maker ${input.order.maker}`)
  }

  /** Hit and miss counts since start, and the cache's size. */
  stats (): VerifierStats {
    return { hits: this.hits, misses: this.misses, size: this.cache.size }
  }
}

/** Every signed field of the order, in its EIP-712 type's order, and the signature. */
function cacheKey (input: SignedOrderInput): string {
  const fields = input.kind === 'compute' ? COMPUTE_ORDER_TYPES.ComputeOrder : TRADE_ORDER_TYPES.TradeOrder
  const parts: string[] = [input.kind]
  for (const f of fields) parts.push(String(Reflect.get(input.order, f.name)).toLowerCase())
  parts.push(input.signature.toLowerCase())
  return parts.join('|')
}

/** Whether `signature` over `hash` recovers to `maker` (a malformed signature does not). */
function recovers (hash: string, signature: string, maker: string): boolean {
  try {
    return recoverAddress(hash, Signature.from(signature)).toLowerCase() === maker.toLowerCase()
  } catch {
    return false
  }
}
