/**
 * The chain reads the client makes each pass, over raw JSON-RPC (no provider caching): the head and finality, the
 * account's nonce at a block, canonical receipts (a receipt whose block hash is no longer the chain's at that height
 * was reorged away), and fee suggestions.
 */
import type { JsonRpcProvider } from 'ethers'
import { confirmedUpTo, type HeadSnapshot } from './core/confirmations.js'
import type { FeeSuggestion, FinalityStatus, IntentReceipt, NetworkProfile } from './types.js'

interface RawBlock { number: string, hash: string, timestamp: string, baseFeePerGas?: string }
interface RawReceipt { transactionHash: string, blockNumber: string, blockHash: string, status: string, gasUsed: string }

const hex = (n: number): string => '0x' + n.toString(16)

/** Reads the chain for one account. */
export class ChainReader {
  constructor (private readonly provider: JsonRpcProvider, private readonly network: NetworkProfile, private readonly address: string) {}

  async chainId (): Promise<bigint> {
    return BigInt(await this.provider.send('eth_chainId', []) as string)
  }

  async block (tag: number | 'latest' | 'finalized' | 'pending'): Promise<RawBlock | null> {
    return await this.provider.send('eth_getBlockByNumber', [typeof tag === 'number' ? hex(tag) : tag, false]) as RawBlock | null
  }

  /** The head, finality and what counts as confirmed now. */
  async finality (): Promise<FinalityStatus> {
    const latest = await this.block('latest')
    if (latest === null) throw new Error('the node has no latest block')
    const snap: HeadSnapshot = { latest: Number(latest.number), latestTimestamp: Number(latest.timestamp), finalized: null, finalizedTimestamp: null }
    if (this.network.confirmation.kind === 'finalized') {
      const fin = await this.block('finalized').catch(() => null)
      if (fin !== null) { snap.finalized = Number(fin.number); snap.finalizedTimestamp = Number(fin.timestamp) }
    }
    const c = confirmedUpTo(this.network.confirmation, snap)
    return { latest: snap.latest, finalized: snap.finalized, lagMs: Number.isFinite(c.lagMs) ? c.lagMs : -1, lagging: c.lagging, confirmedUpTo: c.upTo }
  }

  /** The account's transaction count at `tag` (at a block: how many of its nonces are mined there). */
  async nonceAt (tag: number | 'latest' | 'pending'): Promise<number> {
    return Number(await this.provider.send('eth_getTransactionCount', [this.address, typeof tag === 'number' ? hex(Math.max(0, tag)) : tag]) as string)
  }

  /** The receipt of `hash` if it is mined in a block that is still canonical, else null. */
  async canonicalReceipt (hash: string): Promise<IntentReceipt | null> {
    const r = await this.provider.send('eth_getTransactionReceipt', [hash]) as RawReceipt | null
    if (r === null || r.blockHash === null || r.blockNumber === null) return null
    const b = await this.block(Number(r.blockNumber))
    if (b === null || b.hash.toLowerCase() !== r.blockHash.toLowerCase()) return null
    return { hash: r.transactionHash, blockNumber: Number(r.blockNumber), blockHash: r.blockHash, status: Number(r.status), gasUsed: BigInt(r.gasUsed).toString() }
  }

  /** The first canonical receipt among `hashes` (an intent's transactions: at most one can be mined). */
  async receiptOf (hashes: readonly string[]): Promise<IntentReceipt | null> {
    for (const h of hashes) {
      const r = await this.canonicalReceipt(h)
      if (r !== null) return r
    }
    return null
  }

  /** Whether the node knows any of `hashes` (pending in its pool, or mined). */
  async knows (hashes: readonly string[]): Promise<boolean> {
    for (const h of hashes) if (await this.provider.send('eth_getTransactionByHash', [h]) !== null) return true
    return false
  }

  /** The pending block's base fee and the node's priority suggestion. */
  async feeSuggestion (): Promise<FeeSuggestion> {
    const pending = await this.block('pending').catch(() => null) ?? await this.block('latest')
    const baseFee = BigInt(pending?.baseFeePerGas ?? '0x0')
    const priority = await this.provider.send('eth_maxPriorityFeePerGas', []).then((p: string) => BigInt(p), () => undefined)
    return priority === undefined ? { baseFee } : { baseFee, priority }
  }

  /** eth_estimateGas against the pending state (so a call that depends on our own pending transactions estimates). */
  async estimateGas (tx: { to: string, data: string, value: bigint }): Promise<bigint> {
    return BigInt(await this.provider.send('eth_estimateGas', [{ from: this.address, to: tx.to, data: tx.data, value: '0x' + tx.value.toString(16) }, 'pending']) as string)
  }

  /** Broadcasts a signed transaction; returns its hash. */
  async broadcast (raw: string): Promise<string> {
    return await this.provider.send('eth_sendRawTransaction', [raw]) as string
  }
}
