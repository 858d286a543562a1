/**
 * Settlement intents in the chain store: `intent/<id>` -> IntentRecord, and `intent-seq` (the submission counter).
 * Every state change is one batch (the intent, and the nonce record when a nonce is taken).
 */
import { getAddress, isHexString } from 'ethers'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { IntentRecordSchema } from './schemas.js'
import { ChainError } from './errors.js'
import type { ChainKv, KvOp } from './kv.js'
import type { IntentInput, IntentProof, IntentRecord } from './types.js'

const PREFIX = 'intent/'
const SEQ = 'intent-seq'
const ID = /^[\w:.\-/]{1,200}$/
const recordCheck = TypeCompiler.Compile(IntentRecordSchema)

/** Checks an intent's input (pure): id charset, addresses, hex data, proof fields. Returns the normalised `to`. */
export function checkIntentInput (input: IntentInput): string {
  if (!ID.test(input.id)) throw new ChainError('ERR_INTENT_INVALID', `intent id ${JSON.stringify(input.id)} must be 1-200 characters of [A-Za-z0-9_:.-/]`)
  let to: string
  try {
    to = getAddress(input.to)
  } catch {
    throw new ChainError('ERR_INTENT_INVALID', `intent ${input.id}: ${JSON.stringify(input.to)} is not an address`)
  }
  if (!isHexString(input.data)) throw new ChainError('ERR_INTENT_INVALID', `intent ${input.id}: data must be 0x-prefixed hex`)
  if ((input.value ?? 0n) < 0n || (input.gasLimit !== undefined && input.gasLimit <= 0n)) throw new ChainError('ERR_INTENT_INVALID', `intent ${input.id}: value and gas limit must be positive`)
  checkProof(input.id, input.proof)
  return to
}

function checkProof (id: string, p: IntentProof): void {
  const bad = (why: string): never => { throw new ChainError('ERR_INTENT_INVALID', `intent ${id}: proof ${why}`) }
  if (p.type === 'nonce') return
  try { getAddress(p.vault) } catch { bad('vault is not an address') }
  const lockIds = p.type === 'vault-lock' ? [p.lockId] : p.items.map(i => i.lockId)
  if (p.type === 'vouchers' && p.items.length === 0) bad('has no vouchers')
  for (const l of lockIds) if (!isHexString(l, 32)) bad('lock id must be 32 bytes of hex')
  if (p.type === 'vouchers') for (const i of p.items) if (!/^\d{1,78}$/.test(i.cumulativeAmount)) bad('amount must be a decimal integer')
}

/** Whether a stored intent and a new input describe the same settlement (a retried submit). */
export function sameIntent (r: IntentRecord, input: IntentInput, to: string): boolean {
  return r.kind === input.kind && r.to === to && r.data.toLowerCase() === input.data.toLowerCase() &&
    r.value === (input.value ?? 0n).toString() && JSON.stringify(r.proof) === JSON.stringify(input.proof)
}

/** Reads and writes intents. */
export class IntentStore {
  constructor (private readonly kv: ChainKv) {}

  /** Every stored intent, in submission order. */
  async all (): Promise<IntentRecord[]> {
    const rows = await this.kv.range(PREFIX, PREFIX + '\uffff')
    return rows.map(([, v]) => this.parse(v)).sort((a, b) => a.seq - b.seq)
  }

  async get (id: string): Promise<IntentRecord | undefined> {
    const v = await this.kv.get(PREFIX + id)
    return v === undefined ? undefined : this.parse(v)
  }

  async nextSeq (): Promise<number> {
    const v = await this.kv.get(SEQ)
    return typeof v === 'number' ? v + 1 : 1
  }

  seqOp (seq: number): KvOp {
    return { type: 'put', key: SEQ, value: seq }
  }

  putOp (r: IntentRecord): KvOp {
    return { type: 'put', key: PREFIX + r.id, value: r }
  }

  async write (ops: KvOp[]): Promise<void> {
    await this.kv.batch(ops)
  }

  private parse (v: unknown): IntentRecord {
    if (!recordCheck.Check(v)) throw new ChainError('ERR_STATE', 'a stored settlement intent does not match its schema (a damaged state database?)')
    return v
  }
}
