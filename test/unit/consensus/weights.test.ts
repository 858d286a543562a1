import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import {
  effectiveWeights, electorateWeights, poolCap, quorumOf, reachesQuorum, BPS
} from '../../../src/consensus/core/index.js'
import { P, U, names, table } from './fixtures.js'

describe('effectiveWeights', () => {
  it.each<[string, Array<[string, bigint, number?]>, Record<string, bigint>, string[], boolean]>([
    ['established peers vote with their score', [['a', 30n * U], ['b', 20n * U]], { a: 30n * U, b: 20n * U }, [], false],
    ['a young peer is on probation and shares the pool',
      [['a', 45n * U], ['b', 45n * U], ['n', 50n * U, 9]], { a: 45n * U, b: 45n * U, n: 10n * U }, ['n'], false],
    ['a low score is on probation whatever its age',
      [['a', 90n * U], ['low', 5n * U]], { a: 90n * U, low: 5n * U }, ['low'], false],
    ['the pool is shared pro rata',
      [['a', 90n * U], ['x', 30n * U, 9], ['y', 10n * U, 9]], { a: 90n * U, x: 7_500_000n, y: 2_500_000n }, ['x', 'y'], false],
    ['no established weight: head count', [['x', 30n * U, 9], ['y', 1n, 9]], { x: 0n, y: 0n }, ['x', 'y'], true],
    ['an empty table is head count', [], {}, [], true]
  ])('%s', (_name, rows, want, probation, headCount) => {
    const s = effectiveWeights(table(10, rows), P)
    expect(Object.fromEntries(s.weights)).toEqual(want)
    expect([...s.probation].sort()).toEqual(probation)
    expect(s.headCount).toBe(headCount)
    expect(s.total).toBe(Object.values(want).reduce((a, b) => a + b, 0n))
  })

  it('14 or 14,000 sybils weigh the same: the pool', () => {
    const honest = names('h', 6).map((p, i): [string, bigint] => [p, BigInt(20 + i) * U])
    const pool = (n: number): bigint => {
      const s = effectiveWeights(table(10, [...honest, ...names('s', n).map((p): [string, bigint, number] => [p, 50n * U, 9])]), P)
      let sum = 0n
      for (const p of s.probation) sum += s.weights.get(p) ?? 0n
      return sum
    }
    expect(pool(14)).toBeLessThanOrEqual(135n * U / 9n) // 10% of 135 + 15 units
    expect(pool(14)).toBeGreaterThan(135n * U / 9n - 14n)
    expect(pool(14_000)).toBeLessThanOrEqual(pool(14))
    expect(pool(14) - pool(14_000)).toBeLessThan(14_000n) // floor rounding only: under one unit per identity
  })

  it('caps the pool at 10% of the total for any number of sybils with any scores', () => {
    fc.assert(fc.property(
      fc.array(fc.bigInt({ min: 1n, max: 10n ** 12n }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.bigInt({ min: 0n, max: 10n ** 15n }), { minLength: 0, maxLength: 300 }),
      (honest, sybils) => {
        const rows: Array<[string, bigint, number?]> = [
          ...honest.map((s, i): [string, bigint] => [`h${i}`, s + P.probationThreshold]),
          ...sybils.map((s, i): [string, bigint, number] => [`s${i}`, s, 10])
        ]
        const snap = effectiveWeights(table(10, rows), P)
        let pool = 0n
        for (const p of snap.probation) pool += snap.weights.get(p) ?? 0n
        // pool <= 10% of the total, hence below a third of the 2/3 quorum: sybils never complete a QC alone
        expect(pool * BPS <= P.probationPoolBps * snap.total).toBe(true)
        expect(3n * pool < quorumOf(snap.total) || snap.total === 0n).toBe(true)
        expect(reachesQuorum(pool, snap.total)).toBe(false)
      }), { numRuns: 300 })
  })
})

describe('electorateWeights', () => {
  const snap = effectiveWeights(table(10, [['a', 45n * U], ['b', 45n * U], ['n', 50n * U, 9], ['m', 50n * U, 9]]), P)

  it('restricts to the electorate and caps the pool inside it again', () => {
    // the snapshot's pool is 10 units (5 each); inside {a, n, m} the cap is 45 / 9 = 5 units in all
    const e = electorateWeights(snap, ['a', 'n', 'm', 'stranger'])
    expect(Object.fromEntries(e.weights)).toEqual({ a: 45n * U, n: 2_500_000n, m: 2_500_000n })
    expect(e.total).toBe(50n * U)
  })

  it('defaults to every member of the snapshot', () => {
    expect(electorateWeights(snap).total).toBe(snap.total)
  })

  it('counts heads while no established peer has weight', () => {
    const fresh = effectiveWeights(table(0, []), P)
    const e = electorateWeights(fresh, ['a', 'b', 'c', 'a'])
    expect(e.headCount).toBe(true)
    expect(e.total).toBe(3n)
  })

  it('an electorate of probation members only weighs nothing (it can never finalize)', () => {
    expect(electorateWeights(snap, ['n', 'm']).total).toBe(0n)
  })

  it('keeps probation at most 10% of any electorate', () => {
    const all = [...names('h', 6), ...names('s', 140)]
    const big = effectiveWeights(table(10, [
      ...names('h', 6).map((p, i): [string, bigint] => [p, BigInt(i + 11) * U]),
      ...names('s', 140).map((p): [string, bigint, number] => [p, 40n * U, 9])
    ]), P)
    fc.assert(fc.property(fc.subarray(all, { minLength: 1 }), (electorate) => {
      const e = electorateWeights(big, electorate)
      let pool = 0n
      for (const [p, w] of e.weights) if (big.probation.has(p)) pool += w
      expect(pool * BPS <= P.probationPoolBps * e.total).toBe(true)
    }))
  })
})

describe('quorum', () => {
  it.each<[bigint, bigint, boolean]>([
    [0n, 0n, false], [2n, 3n, true], [1n, 3n, false], [66n, 100n, false], [67n, 100n, true], [200n, 300n, true], [199n, 300n, false]
  ])('yes %s of %s reaches 2/3: %s', (yes, total, want) => {
    expect(reachesQuorum(yes, total)).toBe(want)
    if (total > 0n) expect(yes >= quorumOf(total)).toBe(want)
  })

  it('poolCap(E) / (E + poolCap(E)) <= 10%', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 20n }), (e) => {
      const pool = poolCap(e, 1_000n)
      expect(pool * 10n <= e + pool).toBe(true)
    }))
  })
})
