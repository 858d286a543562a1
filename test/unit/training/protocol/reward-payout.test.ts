/**
 * The `reward-payout` payload rules (src/training/protocol/reward-payout.ts), table-tested: the shape, the round
 * budget, and a node's automatic verdict against the payouts it computed from the seal it adopted.
 */
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import {
  RewardPayoutPayloadSchema, payoutVerdict, rewardPayoutIssue, rewardPayoutPayload, samePayouts, type RewardPayoutPayload
} from '../../../../src/training/protocol/reward-payout.js'
import { roundPayouts } from '../../../../src/training/core/payouts.js'

const JOB = 'a'.repeat(64)
// 100 wei over 3 rounds: budgets 33, 33, 34
const SPEC = { rounds: 3, reward: { totalWei: '100', payer: '0x' + 'aa'.repeat(20) } }
const payload = (round: number, payouts: Array<[string, string]>): RewardPayoutPayload => ({ jobId: JOB, round, payouts: payouts.map(([peerId, wei]) => ({ peerId, wei })) })
const check = TypeCompiler.Compile(RewardPayoutPayloadSchema)

describe('reward-payout payload schema', () => {
  it.each([
    ['a round\'s payouts', payload(0, [['A', '11'], ['B', '22']]), true],
    ['no payouts', payload(0, []), true],
    ['a negative amount', payload(0, [['A', '-1']]), false],
    ['a fractional amount', payload(0, [['A', '1.5']]), false],
    ['a leading zero', payload(0, [['A', '01']]), false],
    ['a number, not a string', { jobId: JOB, round: 0, payouts: [{ peerId: 'A', wei: 1 }] }, false],
    ['a bad job id', { ...payload(0, []), jobId: 'x' }, false],
    ['a negative round', payload(-1, []), false],
    ['an extra field', { ...payload(0, []), extra: 1 }, false],
    ['an empty peer id', payload(0, [['', '1']]), false]
  ])('%s: %s', (_name, p, ok) => {
    expect(check.Check(p)).toBe(ok)
  })
})

describe('rewardPayoutIssue', () => {
  it.each([
    ['sorted, no spec', payload(0, [['A', '1'], ['B', '2']]), undefined, undefined],
    ['unsorted', payload(0, [['B', '1'], ['A', '2']]), undefined, /sorted by peer id/],
    ['a peer twice', payload(0, [['A', '1'], ['A', '2']]), undefined, /each peer once/],
    ['round 0 sums to 33', payload(0, [['A', '11'], ['B', '22']]), SPEC, undefined],
    ['the last round gets the remainder (34)', payload(2, [['A', '34']]), SPEC, undefined],
    ['one wei short', payload(0, [['A', '11'], ['B', '21']]), SPEC, /sum to 32 wei, round 0's budget is 33/],
    ['one wei over', payload(1, [['A', '34']]), SPEC, /sum to 34 wei, round 1's budget is 33/],
    ['past the last round', payload(3, []), SPEC, /past the job's 3 rounds/],
    ['a job without a reward', payload(0, []), { rounds: 3 }, /no reward/]
  ] as const)('%s', (_name, p, spec, issue) => {
    const got = rewardPayoutIssue(p, spec)
    if (issue === undefined) expect(got).toBeUndefined()
    else expect(got).toMatch(issue)
  })

  it('accepts what roundPayouts computes for any seal, and refuses it with one wei moved off budget', () => {
    fc.assert(fc.property(
      fc.bigInt({ min: 1n, max: 10n ** 24n }), fc.integer({ min: 1, max: 6 }), fc.nat(5),
      fc.array(fc.record({ peerId: fc.constantFrom('A', 'B', 'C', 'D'), samples: fc.integer({ min: 1, max: 5000 }) }), { minLength: 1, maxLength: 6 }),
      (total, rounds, r, deltas) => {
        const round = r % rounds
        const spec = { rounds, reward: { totalWei: total.toString(), payer: '0x' + 'aa'.repeat(20) } }
        const payouts = roundPayouts(total, rounds, round, deltas).map(p => ({ peerId: p.peerId, wei: p.wei.toString() }))
        const p = { jobId: JOB, round, payouts }
        expect(check.Check(p)).toBe(true)
        expect(rewardPayoutIssue(p, spec)).toBeUndefined()
        const off = { ...p, payouts: payouts.map((x, i) => i === 0 ? { ...x, wei: (BigInt(x.wei) + 1n).toString() } : x) }
        expect(rewardPayoutIssue(off, spec)).toMatch(/budget/)
      }
    ), { numRuns: 200 })
  })
})

describe('payoutVerdict', () => {
  const own = [{ peerId: 'A', wei: '11' }, { peerId: 'B', wei: '22' }]
  const job = { spec: SPEC, reports: [{ round: 0, payouts: own }, { round: 1 }] }
  it.each([
    ['equal to the payouts computed here', payload(0, [['A', '11'], ['B', '22']]), job, 'yes'],
    ['equal amounts, written differently', { jobId: JOB, round: 0, payouts: own.map(p => ({ ...p })) }, job, 'yes'],
    ['the job is not known here yet', payload(0, [['A', '11'], ['B', '22']]), undefined, 'pending'],
    ['the round\'s seal is not adopted here yet', payload(2, [['A', '34']]), job, 'pending'],
    ['a round reported without payouts', payload(1, [['A', '33']]), job, 'pending'],
    ['wei moved between contributors', payload(0, [['A', '12'], ['B', '21']]), job, 'no'],
    ['a contributor left out', payload(0, [['B', '33']]), job, 'no'],
    ['a stranger added', payload(0, [['A', '11'], ['B', '21'], ['X', '1']]), job, 'no'],
    ['off the round budget', payload(0, [['A', '11'], ['B', '23']]), job, 'no'],
    ['unsorted', payload(0, [['B', '22'], ['A', '11']]), job, 'no'],
    ['past the last round', payload(5, []), job, 'no']
  ] as const)('%s -> %s', (_name, p, j, verdict) => {
    expect(payoutVerdict(p, j)).toBe(verdict)
  })

  it('samePayouts compares peers, order and amounts', () => {
    expect(samePayouts(own, [{ peerId: 'A', wei: '11' }, { peerId: 'B', wei: '22' }])).toBe(true)
    expect(samePayouts(own, [{ peerId: 'B', wei: '22' }, { peerId: 'A', wei: '11' }])).toBe(false)
    expect(samePayouts(own, own.slice(1))).toBe(false)
    expect(samePayouts([], [])).toBe(true)
  })

  it('the creator\'s payload is its report\'s payouts (none without them)', () => {
    expect(rewardPayoutPayload(JOB, { round: 0, payouts: [{ peerId: 'A', wei: '11', amount: 'x' } as never] })).toEqual(payload(0, [['A', '11']]))
    expect(rewardPayoutPayload(JOB, { round: 0 })).toBeUndefined()
  })
})
