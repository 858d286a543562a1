/**
 * The persisted next nonce of one account (`nonce/<address>` in the chain store). It is written in the same batch as
 * the intent that takes the nonce, so a crash can never leave a signed transaction whose nonce the store forgot.
 */
import type { ChainKv, KvOp } from './kv.js'

/** The next-nonce record of one account. */
export class NonceStore {
  private readonly key: string
  constructor (private readonly kv: ChainKv, address: string) {
    this.key = `nonce/${address.toLowerCase()}`
  }

  /** The stored next nonce, or undefined on a fresh store. */
  async load (): Promise<number | undefined> {
    const v = await this.kv.get(this.key)
    return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined
  }

  /** The batch op that stores `next`. */
  op (next: number): KvOp {
    return { type: 'put', key: this.key, value: next }
  }
}
