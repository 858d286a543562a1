/** Shared builders for the consensus unit tests. */
import { defaultReputationParams, type ReputationEntry, type ReputationParams, type ReputationTable } from '../../../src/consensus/core/index.js'

export const P: ReputationParams = { ...defaultReputationParams }
export const U = P.workUnit

/** A table of `epoch` from [peer, score in work units, since]. */
export function table (epoch: number, rows: Array<[string, bigint, number?]>): ReputationTable {
  const peers = new Map<string, ReputationEntry>()
  for (const [peer, score, since] of rows) peers.set(peer, { score, since: since ?? -100 })
  return { epoch, peers }
}

/** `n` peer names with a prefix: h0, h1, ... */
export const names = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`)
