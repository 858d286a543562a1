/** Training rewards' arithmetic (src/training/core/payouts.ts): round budgets and pro-rata shares, exact to the wei. */
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { formatWei18, roundBudget, roundPayouts, sharePayouts } from '../../../../src/training/core/payouts.js'

const E18 = 10n ** 18n

describe('roundBudget', () => {
  it.each([
    // total, rounds, round, budget
    [100n * E18, 3, 0, 33333333333333333333n],
    [100n * E18, 3, 1, 33333333333333333333n],
    [100n * E18, 3, 2, 33333333333333333334n], // the last round takes the remainder
    [10n, 4, 0, 2n],
    [10n, 4, 3, 4n],
    [2n, 5, 0, 0n],
    [2n, 5, 4, 2n],
    [7n, 1, 0, 7n],
    [7n, 3, 3, 0n], // past the last round: nothing
    [7n, 3, -1, 0n]
  ])('total %s over %i rounds, round %i -> %s', (total, rounds, round, budget) => {
    expect(roundBudget(total, rounds, round)).toBe(budget)
  })

  it('refuses a negative total and a non-positive round count', () => {
    expect(() => roundBudget(-1n, 3, 0)).toThrow(RangeError)
    expect(() => roundBudget(1n, 0, 0)).toThrow(RangeError)
    expect(() => roundBudget(1n, 1.5, 0)).toThrow(RangeError)
  })

  it('the budgets of all rounds sum to the total (property)', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.integer({ min: 1, max: 500 }), (total, rounds) => {
      let sum = 0n
      for (let r = 0; r < rounds; r++) sum += roundBudget(total, rounds, r)
      expect(sum).toBe(total)
    }), { numRuns: 200 })
  })
})

describe('sharePayouts', () => {
  const w = (pairs: Array<[string, number]>): Array<{ peerId: string, samples: number }> => pairs.map(([peerId, samples]) => ({ peerId, samples }))
  it.each([
    // budget, deltas, expected (sorted by peer id)
    ['equal samples, divisible', 90n, w([['b', 10], ['a', 10], ['c', 10]]), [['a', 30n], ['b', 30n], ['c', 30n]]],
    ['equal samples, 1 wei left: lowest id', 100n, w([['b', 10], ['a', 10], ['c', 10]]), [['a', 34n], ['b', 33n], ['c', 33n]]],
    ['equal samples, 2 wei left: two lowest ids', 101n, w([['c', 1], ['a', 1], ['b', 1]]), [['a', 34n], ['b', 34n], ['c', 33n]]],
    ['pro rata', 1000n, w([['a', 100], ['b', 300]]), [['a', 250n], ['b', 750n]]],
    ['largest remainder first', 10n, w([['a', 1], ['b', 2], ['c', 4]]), [['a', 1n], ['b', 3n], ['c', 6n]]],
    ['one contributor takes all', 12345n, w([['z', 7]]), [['z', 12345n]]],
    ['a peer listed twice counts the sum', 60n, w([['a', 1], ['b', 1], ['a', 1]]), [['a', 40n], ['b', 20n]]],
    ['budget 0', 0n, w([['a', 5], ['b', 5]]), [['a', 0n], ['b', 0n]]],
    ['no samples at all', 50n, w([['a', 0], ['b', 0]]), [['a', 0n], ['b', 0n]]],
    ['budget below the peer count', 1n, w([['b', 3], ['a', 3]]), [['a', 1n], ['b', 0n]]],
    ['no deltas', 9n, [], []]
  ] as Array<[string, bigint, Array<{ peerId: string, samples: number }>, Array<[string, bigint]>]>)('%s', (_name, budget, deltas, expected) => {
    expect(sharePayouts(budget, deltas).map(p => [p.peerId, p.wei])).toEqual(expected)
  })

  it('refuses negative or fractional samples and a negative budget', () => {
    expect(() => sharePayouts(1n, w([['a', -1]]))).toThrow(RangeError)
    expect(() => sharePayouts(1n, w([['a', 1.5]]))).toThrow(RangeError)
    expect(() => sharePayouts(-1n, w([['a', 1]]))).toThrow(RangeError)
  })

  it('sums to the budget, never pays a peer more than one wei above its exact share, and ignores input order (property)', () => {
    const peers = fc.uniqueArray(fc.record({ peerId: fc.string({ minLength: 1, maxLength: 6 }), samples: fc.integer({ min: 1, max: 1_000_000 }) }), { minLength: 1, maxLength: 20, selector: d => d.peerId })
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 27n }), peers, (budget, deltas) => {
      const out = sharePayouts(budget, deltas)
      expect(out.reduce((s, p) => s + p.wei, 0n)).toBe(budget)
      const total = deltas.reduce((s, d) => s + BigInt(d.samples), 0n)
      for (const p of out) {
        const exact = budget * BigInt(deltas.find(d => d.peerId === p.peerId)?.samples ?? 0) / total
        expect(p.wei - exact >= 0n && p.wei - exact <= 1n).toBe(true)
      }
      expect(sharePayouts(budget, [...deltas].reverse())).toEqual(out)
    }), { numRuns: 300 })
  })
})

describe('roundPayouts and formatWei18', () => {
  it('a 100 FTNS job of 3 rounds pays exactly 100 FTNS over its rounds', () => {
    const deltas = [{ peerId: 'p1', samples: 599 }, { peerId: 'p2', samples: 598 }, { peerId: 'p3', samples: 600 }]
    let sum = 0n
    for (let r = 0; r < 3; r++) sum += roundPayouts(100n * E18, 3, r, deltas).reduce((s, p) => s + p.wei, 0n)
    expect(sum).toBe(100n * E18)
  })
  it.each([[0n, '0'], [E18, '1'], [12n * E18 + 5n * 10n ** 17n, '12.5'], [1n, '0.000000000000000001'], [-E18 / 2n, '-0.5']])('%s wei -> %s', (wei, text) => {
    expect(formatWei18(wei)).toBe(text)
  })
})
