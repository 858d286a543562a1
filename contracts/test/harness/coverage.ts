/**
 * Coverage collection for `contracts/coverage.ts`: when MESHNODE_CONTRACT_COVERAGE names a folder, every test anvil
 * runs with step tracing, and before it stops, every transaction it mined is traced; the program counters executed
 * and the direction of every JUMPI are recorded per contract address into a JSON file in that folder. Calls and gas
 * estimates sent through the test provider are traced too (a reverting call is never mined).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** The folder coverage goes to, or undefined when coverage is off. */
export function coverageDir (): string | undefined {
  const dir = process.env.MESHNODE_CONTRACT_COVERAGE
  return dir !== undefined && dir !== '' ? dir : undefined
}

/** Per address: bit 4 = executed, bit 1 = a JUMPI jumped, bit 2 = a JUMPI fell through. */
export type Hits = Record<string, Record<number, number>>

interface StructLog { pc: number, op: string, depth: number, stack?: string[] }

const CALLS = new Set(['CALL', 'STATICCALL', 'DELEGATECALL', 'CALLCODE'])
const CREATES = new Set(['CREATE', 'CREATE2'])

/** Adds one transaction's struct logs to `hits` (`to` is the called contract, or null for a creation). */
export function addTrace (hits: Hits, to: string | null, logs: StructLog[]): void {
  const frames: Array<string | null> = [to?.toLowerCase() ?? null]
  for (let i = 0; i < logs.length; i++) {
    const log = logs[i]
    frames.length = Math.max(1, Math.min(frames.length, log.depth))
    const code = frames[log.depth - 1] ?? null
    const stack = log.stack ?? []
    if (code !== null) {
      const byPc = (hits[code] ??= {})
      let mask = (byPc[log.pc] ?? 0) | 4
      if (log.op === 'JUMPI') mask |= BigInt(stack[stack.length - 2] ?? '0x0') !== 0n ? 1 : 2
      byPc[log.pc] = mask
    }
    const next = logs[i + 1]
    if (next === undefined || next.depth !== log.depth + 1) continue
    if (CALLS.has(log.op)) {
      const target = BigInt(stack[stack.length - 2] ?? '0x0').toString(16).padStart(40, '0').slice(-40)
      frames[log.depth] = '0x' + target
    } else if (CREATES.has(log.op)) {
      frames[log.depth] = null
    }
  }
}

type Rpc = <T>(method: string, params?: unknown[]) => Promise<T>

/**
 * Collects traces of one anvil. Tests revert to snapshots between runs, and a reverted block is gone: so the blocks
 * mined since the last collection are traced before every revert (`beforeRevert`) and at the end (`finish`).
 */
export class CoverageCollector {
  private readonly hits: Hits = {}
  private readonly code = new Map<string, string>()
  private tracedThrough = 0

  constructor (private readonly rpc: Rpc, private readonly dir: string) {}

  /** Traces the blocks not traced yet (call before evm_revert; `snapshotBlock` is the block the chain goes back to). */
  async beforeRevert (snapshotBlock: number): Promise<void> {
    await this.traceNew()
    this.tracedThrough = Math.min(this.tracedThrough, snapshotBlock)
  }

  /**
   * Traces a call or a gas estimate the tests made through ethers: a call that reverts is never mined, so the refusal
   * branches the tests assert would otherwise never show.
   */
  async traceCall (call: { to?: string | null }, blockTag: unknown): Promise<void> {
    const trace = await this.rpc<{ structLogs: StructLog[] }>('debug_traceCall', [call, blockTag ?? 'latest', { disableStorage: true, disableMemory: true, enableReturnData: false }])
    addTrace(this.hits, call.to ?? null, trace.structLogs)
    for (const address of Object.keys(this.hits)) {
      if (!this.code.has(address)) this.code.set(address, await this.rpc<string>('eth_getCode', [address, 'latest']))
    }
  }

  /** Traces what is left and writes the file. */
  async finish (): Promise<void> {
    await this.traceNew()
    const contracts: Record<string, { code: string, hits: Record<number, number> }> = {}
    for (const [address, byPc] of Object.entries(this.hits)) contracts[address] = { code: this.code.get(address) ?? '0x', hits: byPc }
    mkdirSync(this.dir, { recursive: true })
    writeFileSync(join(this.dir, `anvil-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.json`), JSON.stringify({ contracts }))
  }

  private async traceNew (): Promise<void> {
    const latest = Number(await this.rpc<string>('eth_blockNumber'))
    for (let n = this.tracedThrough + 1; n <= latest; n++) {
      const block = await this.rpc<{ transactions: Array<{ hash: string, to: string | null }> } | null>('eth_getBlockByNumber', ['0x' + n.toString(16), true])
      for (const tx of block?.transactions ?? []) {
        const trace = await this.rpc<{ structLogs: StructLog[] }>('debug_traceTransaction', [tx.hash, { disableStorage: true, disableMemory: true, enableReturnData: false }])
        addTrace(this.hits, tx.to, trace.structLogs)
      }
    }
    this.tracedThrough = latest
    // code of every address seen, read now: a contract deployed in a block about to be reverted is gone afterwards
    for (const address of Object.keys(this.hits)) {
      if (!this.code.has(address)) this.code.set(address, await this.rpc<string>('eth_getCode', [address, 'latest']))
    }
  }
}
