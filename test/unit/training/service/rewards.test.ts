/**
 * The training side of rewards (src/training/service/rewards.ts): who gets paid for which round, when the creator
 * closes the reserve, and which vouchers a contributor keeps. The chain side is the ledger's (covered end to end by
 * test/integration/ledger/rewards.test.ts); here a small in-memory port records what the bridge asks of it.
 */
import { describe, it, expect } from 'vitest'
import type { EventSink } from '../../../../src/common/events.js'
import { silentLogger } from '../../../../src/common/logger.js'
import { RewardsBridge, type SignedVoucher } from '../../../../src/training/service/rewards.js'
import { ADDR, JOB, PAYER, fakeJob, noState, recordingPort, report } from './rewards-fixtures.js'
import type { JobRuntime } from '../../../../src/training/service/runtime.js'
import type { RewardVoucher, TrainingMessage } from '../../../../src/training/protocol/messages.js'
import type { TrainingEvents } from '../../../../src/training/events.js'

function setup (self: string, job: JobRuntime): { bridge: RewardsBridge, calls: string[], published: TrainingMessage[], events: Array<TrainingEvents['training.reward']>, held: Map<string, bigint> } {
  const calls: string[] = []
  const published: TrainingMessage[] = []
  const held = new Map<string, bigint>()
  const port = recordingPort(self, calls, {
    receive: async (v: SignedVoucher) => {
      calls.push(`receive ${v.salt} ${v.cumulativeAmount}`)
      const key = `${v.payer}/${v.salt}`
      if ((held.get(key) ?? -1n) >= BigInt(v.cumulativeAmount)) return false
      held.set(key, BigInt(v.cumulativeAmount))
      return true
    },
    redeem: async (opts = {}) => { calls.push(`redeem${opts.force === true ? ' force' : ''}`) }
  })
  const events: Array<TrainingEvents['training.reward']> = []
  const bus: EventSink<TrainingEvents> = { emit: (...[type, data]) => { if (type === 'training.reward') events.push(data) } }
  const bridge = new RewardsBridge({
    self, port, state: noState,
    jobs: () => [job], job: () => job, publish: async msg => { published.push(msg) }, events: bus, logger: silentLogger
  })
  return { bridge, calls, published, events, held }
}

const flush = async (b: RewardsBridge): Promise<void> => { for (let i = 0; i < 3; i++) await b.stop() }

describe('RewardsBridge, the creator', () => {
  it('pays each round to contributors with a known address (never itself, never a zero payout), and closes only once the last round is reported and everyone is paid', async () => {
    const { job, phase } = fakeJob('C')
    const { bridge, calls, published, events } = setup('C', job)
    bridge.onMessage(job, 'B', { type: 'payee', jobId: JOB, address: ADDR.B })
    job.reports = [report(0, [['A', '30'], ['B', '60'], ['C', '10']])]
    bridge.onRound(job)
    await flush(bridge)
    expect(calls).toEqual([`pay 0 ${ADDR.B.slice(0, 4)}=60`])
    expect(published.filter(m => m.type === 'voucher').map(m => [(m as RewardVoucher).peerId, (m as RewardVoucher).cumulativeAmount])).toEqual([['B', '60']])

    // A names its address later: it is paid for what it earned so far
    bridge.onMessage(job, 'A', { type: 'payee', jobId: JOB, address: ADDR.A })
    await flush(bridge)
    const a = ADDR.A.slice(0, 4)
    const b = ADDR.B.slice(0, 4)
    expect(calls).toEqual([`pay 0 ${b}=60`, `pay 0 ${a}=30`])

    // the machine finished before round 2 was reported: everything known is paid, but the reserve stays open
    phase.value = 'finished'
    phase.round = 3
    job.reports = [...job.reports, report(1, [['A', '50'], ['B', '50']])]
    bridge.onRound(job)
    await flush(bridge)
    expect(calls).toEqual([`pay 0 ${b}=60`, `pay 0 ${a}=30`, `pay 1 ${a}=50,${b}=50`])

    job.reports = [...job.reports, report(2, [['A', '0'], ['B', '100']])]
    bridge.onRound(job)
    await flush(bridge)
    expect(calls).toEqual([`pay 0 ${b}=60`, `pay 0 ${a}=30`, `pay 1 ${a}=50,${b}=50`, `pay 2 ${b}=100`, 'close'])
    expect(events.filter(e => e.direction === 'sent').map(e => `${e.round}${e.peerId}`).sort()).toEqual(['0A', '0B', '1A', '1B', '2B'])
    // the last round's vouchers ask for redemption now
    expect(published.filter((m): m is RewardVoucher => m.type === 'voucher').filter(m => m.settle === true).map(m => m.round)).toEqual([2])

    // a repeated payee gets its vouchers again, and nothing is paid twice
    const before = published.length
    bridge.onMessage(job, 'A', { type: 'payee', jobId: JOB, address: '0x' + '99'.repeat(20) })
    await flush(bridge)
    expect(published.length - before).toBe(2)
    expect(calls.filter(c => c.startsWith('pay')).length).toBe(4)
    expect(calls.filter(c => c === 'close').length).toBe(1)
    expect(job.rewards?.payees.A).toBe(ADDR.A) // the first address stays
  })
})

describe('RewardsBridge, a contributor', () => {
  const voucher = (over: Partial<RewardVoucher> = {}): RewardVoucher => ({
    type: 'voucher', jobId: JOB, round: 0, peerId: 'A', payer: PAYER, provider: ADDR.A, salt: '0', cumulativeAmount: '30', r: '0x' + '11'.repeat(32), vs: '0x' + '22'.repeat(32), ...over
  })

  it('keeps valid vouchers once, ignores other senders, payers and payees, and redeems (at once when asked)', async () => {
    const { job } = fakeJob('C')
    const { bridge, calls, events } = setup('A', job)
    bridge.onMessage(job, 'X', voucher()) // not from the creator
    bridge.onMessage(job, 'C', voucher({ peerId: 'B' })) // for someone else
    bridge.onMessage(job, 'C', voucher({ payer: '0x' + 'bb'.repeat(20) })) // not the job's payer
    await flush(bridge)
    expect(calls).toEqual([])

    bridge.onMessage(job, 'C', voucher())
    bridge.onMessage(job, 'C', voucher()) // a replay
    bridge.onMessage(job, 'C', voucher({ round: 2, salt: '2', cumulativeAmount: '100', settle: true }))
    await flush(bridge)
    expect(calls).toEqual(['receive 0 30', 'redeem', 'receive 2 100', 'redeem force'])
    expect(events.map(e => [e.round, e.amount, e.direction])).toEqual([[0, '0.00000000000000003', 'received'], [2, '0.0000000000000001', 'received']])
    expect(job.rewards?.vouchers.map(v => v.round)).toEqual([0, 2])
  })

  it('names its address while it is owed a voucher it does not hold', async () => {
    const { job } = fakeJob('C')
    const { bridge, published } = setup('A', job)
    bridge.onJoin(job)
    job.reports = [report(0, [['A', '30'], ['B', '60']])]
    bridge.onRound(job)
    await flush(bridge)
    expect(published).toEqual([{ type: 'payee', jobId: JOB, address: ADDR.A }, { type: 'payee', jobId: JOB, address: ADDR.A }])
    bridge.onMessage(job, 'C', voucher())
    await flush(bridge)
    bridge.onRound(job) // nothing missing now
    await flush(bridge)
    expect(published).toHaveLength(2)
  })
})
