/**
 * Shared by the rewards bridge's unit tests (rewards.test.ts, payout-kind.test.ts): a job runtime with just what the
 * bridge reads, round reports with payouts, and an in-memory port that records what the bridge asks of the chain.
 */
import type { RewardsPort } from '../../../../src/training/service/rewards.js'
import type { JobRuntime } from '../../../../src/training/service/runtime.js'
import type { RoundReport } from '../../../../src/training/service/api-types.js'

export const PAYER = '0x' + 'aa'.repeat(20)
export const ADDR: Record<string, string> = { A: '0x' + 'a1'.repeat(20), B: '0x' + 'b2'.repeat(20) }
export const JOB = 'f'.repeat(64)

/** A 3-round job paying 300 wei, created by `creator`; `phase` drives what its machine reports, `finish()` ends it. */
export function fakeJob (creator: string): { job: JobRuntime, phase: { value: 'collecting' | 'finished', round: number }, finish: () => void } {
  const phase = { value: 'collecting' as 'collecting' | 'finished', round: 0 }
  const job = {
    spec: { id: JOB, creator, rounds: 3, reward: { totalWei: '300', payer: PAYER } },
    reports: [] as RoundReport[],
    join: { dataset: 'digits' },
    machine: { view: () => ({ phase: phase.value, round: phase.round }) }
  } as unknown as JobRuntime
  return { job, phase, finish: () => { phase.value = 'finished'; phase.round = 3 } }
}

/** A round report carrying only its payouts ([peerId, wei] pairs). */
export function report (round: number, payouts: Array<[string, string]>): RoundReport {
  return { round, payouts: payouts.map(([peerId, wei]) => ({ peerId, wei, amount: wei })) } as unknown as RoundReport
}

/** The port of node `self` ('C' is the creator, paying as PAYER): payRound and closeJob are recorded in `calls`. */
export function recordingPort (self: string, calls: string[], over: Partial<RewardsPort> = {}): RewardsPort {
  return {
    address: () => self === 'C' ? PAYER : ADDR[self],
    parseAmount: () => 0n,
    reserve: async () => {},
    payRound: async ({ round, items }) => {
      calls.push(`pay ${round} ${items.map(i => `${i.provider.slice(0, 4)}=${i.wei}`).join(',')}`)
      return items.map(i => ({ payer: PAYER, provider: i.provider, salt: String(round), cumulativeAmount: i.wei.toString(), r: '0x' + '11'.repeat(32), vs: '0x' + '22'.repeat(32) }))
    },
    closeJob: async () => { calls.push('close') },
    receive: async () => true,
    redeem: async () => {},
    ...over
  }
}

/** A state store that keeps nothing (the bridge's persistence is not what these tests are about). */
export const noState = { sublevel: () => ({ iterator: async function * () {}, put: async () => {}, del: async () => {} }) }
