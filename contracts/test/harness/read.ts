/**
 * Many contract reads in one JSON-RPC batch: property tests compare the whole chain state with their model after
 * every operation, and one round trip per comparison keeps that cheap.
 */
import type { BaseContract, Result } from 'ethers'
import type { Anvil } from './anvil.js'

/** One view call. */
export interface Read {
  contract: BaseContract
  fn: string
  args?: unknown[]
}

/** Runs `reads` against the latest block and returns their decoded results, in order. */
export async function readAll (anvil: Anvil, reads: Read[]): Promise<Result[]> {
  const calls = reads.map(r => ({
    method: 'eth_call',
    params: [{ to: String(r.contract.target), data: r.contract.interface.encodeFunctionData(r.fn, r.args ?? []) }, 'latest']
  }))
  const raw = await anvil.batch(calls)
  return reads.map((r, i) => r.contract.interface.decodeFunctionResult(r.fn, String(raw[i])))
}

/** Runs `reads` whose single result is an integer, and returns the integers. */
export async function readInts (anvil: Anvil, reads: Read[]): Promise<bigint[]> {
  return (await readAll(anvil, reads)).map(r => BigInt(r[0]))
}
