import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { aggregate, type AggregationSpec, type WeightedUpdate } from '../../../../src/training/core/aggregate.js'
import { l2Norm } from '../../../../src/training/core/delta.js'
import { pairwiseSquaredDistances, krumScores } from '../../../../src/training/core/krum.js'
import { createRng } from '../../../../src/training/core/rng.js'

const up = (id: string, data: number[], weight = 1): WeightedUpdate => ({ id, data: Float32Array.from(data), weight })
const bits = (v: Float32Array): string => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')
const ALL: AggregationSpec[] = [{ kind: 'fedavg' }, { kind: 'median' }, { kind: 'trimmed-mean', beta: 0.2 }, { kind: 'krum', f: 1 }, { kind: 'krum', f: 2, m: 1 }]

describe('aggregate: table', () => {
  const three = [up('a', [1, 2, 0]), up('b', [3, 6, 0], 3), up('c', [5, -1, 0])]
  it.each<[string, AggregationSpec, WeightedUpdate[], number[], string[]]>([
    ['fedavg weighted', { kind: 'fedavg' }, [up('a', [1, 2], 1), up('b', [3, 6], 3)], [2.5, 5], ['a', 'b']],
    ['fedavg single', { kind: 'fedavg' }, [up('x', [1.5, -2], 7)], [1.5, -2], ['x']],
    ['median odd', { kind: 'median' }, three, [3, 2, 0], ['a', 'b', 'c']],
    ['median even: mean of middles', { kind: 'median' }, [up('a', [1]), up('b', [2]), up('c', [3]), up('d', [10])], [2.5], ['a', 'b', 'c', 'd']],
    ['median ignores weights', { kind: 'median' }, [up('a', [1], 100), up('b', [2]), up('c', [3])], [2], ['a', 'b', 'c']],
    ['trimmed beta 0 = plain mean', { kind: 'trimmed-mean', beta: 0 }, three, [3, 7 / 3, 0], ['a', 'b', 'c']],
    ['trimmed beta 0.25 of 4 drops one each side', { kind: 'trimmed-mean', beta: 0.25 }, [up('a', [1]), up('b', [2]), up('c', [4]), up('d', [100])], [3], ['a', 'b', 'c', 'd']],
    ['trimmed beta 0.2 of 4 drops nothing', { kind: 'trimmed-mean', beta: 0.2 }, [up('a', [1]), up('b', [2]), up('c', [4]), up('d', [101])], [27], ['a', 'b', 'c', 'd']],
    ['krum drops the far update', { kind: 'krum', f: 1 }, [up('a', [0, 0]), up('b', [1, 0]), up('c', [0, 1]), up('z', [50, 50])], [1 / 3, 1 / 3], ['a', 'b', 'c']],
    ['krum m=1 picks the most central', { kind: 'krum', f: 0, m: 1 }, [up('a', [0]), up('b', [1]), up('c', [2]), up('d', [10])], [1], ['b']],
    ['krum weights the selected', { kind: 'krum', f: 1, m: 2 }, [up('a', [0], 1), up('b', [1], 3), up('c', [2]), up('d', [10])], [0.75], ['a', 'b']],
    ['krum ties go to the lower id', { kind: 'krum', f: 0, m: 2 }, [up('q', [1]), up('p', [1]), up('r', [1])], [1], ['p', 'q']]
  ])('%s', (_n, spec, updates, want, selected) => {
    const r = aggregate(spec, updates)
    expect(Array.from(r.result)).toEqual(want.map(Math.fround))
    expect(r.selected).toEqual(selected)
  })

  it('clipNorm bounds each update before aggregating', () => {
    const r = aggregate({ kind: 'fedavg' }, [up('a', [3, 4]), up('b', [0, 0])], { clipNorm: 1 })
    expect(Array.from(r.result)).toEqual([0.3, 0.4].map(Math.fround))
    // inputs are not mutated
    const a = up('a', [30, 40])
    aggregate({ kind: 'median' }, [a, up('b', [0, 0]), up('c', [1, 1])], { clipNorm: 1 })
    expect(Array.from(a.data)).toEqual([30, 40])
  })

  it('canonicalises -0 in the median', () => {
    const r = aggregate({ kind: 'median' }, [up('a', [-0]), up('b', [0]), up('c', [-0])])
    expect(Object.is(r.result[0], 0)).toBe(true)
  })
})

describe('aggregate: validation', () => {
  const ok = [up('a', [1, 2]), up('b', [3, 4]), up('c', [5, 6])]
  it.each<[string, AggregationSpec, WeightedUpdate[], string, { clipNorm?: number }?]>([
    ['no updates', { kind: 'fedavg' }, [], 'ERR_AGGREGATION'],
    ['length mismatch', { kind: 'fedavg' }, [up('a', [1, 2]), up('b', [1])], 'ERR_SHAPE'],
    ['zero weight', { kind: 'fedavg' }, [up('a', [1], 0)], 'ERR_AGGREGATION'],
    ['negative weight', { kind: 'median' }, [up('a', [1], -1)], 'ERR_AGGREGATION'],
    ['NaN weight', { kind: 'fedavg' }, [up('a', [1], NaN)], 'ERR_AGGREGATION'],
    ['infinite weight', { kind: 'fedavg' }, [up('a', [1], Infinity)], 'ERR_AGGREGATION'],
    ['duplicate id', { kind: 'fedavg' }, [up('a', [1]), up('a', [2])], 'ERR_AGGREGATION'],
    ['NaN element', { kind: 'median' }, [up('a', [1]), up('b', [NaN])], 'ERR_NONFINITE'],
    ['infinite element', { kind: 'fedavg' }, [up('a', [Infinity])], 'ERR_NONFINITE'],
    ['beta 0.5', { kind: 'trimmed-mean', beta: 0.5 }, ok, 'ERR_AGGREGATION'],
    ['beta negative', { kind: 'trimmed-mean', beta: -0.1 }, ok, 'ERR_AGGREGATION'],
    ['krum too few', { kind: 'krum', f: 1 }, ok.slice(1), 'ERR_AGGREGATION'],
    ['krum n < f + 3', { kind: 'krum', f: 1 }, ok, 'ERR_AGGREGATION'],
    ['krum f fractional', { kind: 'krum', f: 0.5 }, ok, 'ERR_AGGREGATION'],
    ['krum m 0', { kind: 'krum', f: 0, m: 0 }, ok, 'ERR_AGGREGATION'],
    ['krum m > n', { kind: 'krum', f: 0, m: 4 }, ok, 'ERR_AGGREGATION'],
    ['unknown kind', { kind: 'mean' } as unknown as AggregationSpec, ok, 'ERR_AGGREGATION'],
    ['bad clipNorm', { kind: 'fedavg' }, ok, 'ERR_AGGREGATION', { clipNorm: 0 }]
  ])('%s', (_n, spec, updates, code, opts) => {
    expect(() => aggregate(spec, updates, opts)).toThrow(expect.objectContaining({ code, name: 'TrainingError' }))
  })
})

describe('aggregate: robustness to Byzantine updates', () => {
  const dim = 200
  const rng = createRng(2024)
  const target = Float32Array.from({ length: dim }, () => rng.normal())
  const honest = Array.from({ length: 8 }, (_, i) => up(`h${i}`, Array.from(target, x => x + 0.05 * rng.normal()), 100))
  const evil = [0, 1].map(i => up(`e${i}`, Array.from(target, x => -10 * x), 100))
  const dist = (v: Float32Array): number => l2Norm(Float32Array.from(v, (x, i) => x - target[i])) / l2Norm(target)

  it.each<[AggregationSpec, number]>([
    [{ kind: 'median' }, 0.1],
    [{ kind: 'trimmed-mean', beta: 0.2 }, 0.1],
    [{ kind: 'krum', f: 2 }, 0.05]
  ])('%j stays close to the target', (spec, tol) => {
    const { result, selected } = aggregate(spec, [...evil, ...honest])
    expect(dist(result)).toBeLessThan(tol)
    if (spec.kind === 'krum') expect(selected).toEqual(honest.map(h => h.id))
  })

  it('fedavg is pulled far away (sanity check that the attack is real)', () => {
    expect(dist(aggregate({ kind: 'fedavg' }, [...evil, ...honest]).result)).toBeGreaterThan(2)
  })

  it('clipping limits the damage fedavg takes', () => {
    const clip = l2Norm(honest[0].data)
    const clipped = dist(aggregate({ kind: 'fedavg' }, [...evil, ...honest], { clipNorm: clip }).result)
    expect(clipped).toBeLessThan(dist(aggregate({ kind: 'fedavg' }, [...evil, ...honest]).result))
    expect(clipped).toBeLessThan(0.5)
  })
})

describe('aggregate: properties', () => {
  const updatesArb = fc.record({
    n: fc.integer({ min: 5, max: 9 }),
    dim: fc.integer({ min: 1, max: 12 }),
    seed: fc.integer({ min: 0, max: 1e9 })
  }).map(({ n, dim, seed }) => {
    const r = createRng(seed)
    return Array.from({ length: n }, (_, i) => up(`peer-${(i * 7919) % 101}-${i}`,
      Array.from({ length: dim }, () => r.normal() * 10 ** (r.int(7) - 3)), 1 + r.int(1000) / 7))
  })

  it('input order never changes a single bit', () => {
    fc.assert(fc.property(updatesArb, fc.integer(), fc.constantFrom(...ALL), fc.boolean(), (updates, seed, spec, clip) => {
      const opts = clip ? { clipNorm: 1 } : {}
      const a = aggregate(spec, updates, opts)
      const b = aggregate(spec, createRng(seed).shuffle([...updates]), opts)
      expect(bits(b.result)).toBe(bits(a.result))
      expect(b.selected).toEqual(a.selected)
    }), { numRuns: 300 })
  })

  it('every strategy stays within the per-coordinate [min, max] of its inputs', () => {
    fc.assert(fc.property(updatesArb, fc.constantFrom(...ALL), (updates, spec) => {
      const { result, selected } = aggregate(spec, updates)
      expect(selected.length).toBeGreaterThan(0)
      for (let j = 0; j < result.length; j++) {
        const col = updates.map(u => u.data[j])
        expect(result[j]).toBeGreaterThanOrEqual(Math.min(...col))
        expect(result[j]).toBeLessThanOrEqual(Math.max(...col))
      }
    }), { numRuns: 200 })
  })

  it('identical updates aggregate to that update exactly', () => {
    fc.assert(fc.property(fc.float32Array({ minLength: 1, maxLength: 16, noNaN: true, noDefaultInfinity: true }), fc.integer({ min: 5, max: 8 }), fc.constantFrom(...ALL), (v, n, spec) => {
      const updates = Array.from({ length: n }, (_, i) => ({ id: String(i), data: v, weight: i + 0.5 }))
      expect(Array.from(aggregate(spec, updates).result)).toEqual(Array.from(v, x => x + 0))
    }))
  })

  it('median/trimmed-mean on a wide update set (native sort path) match a reference', () => {
    const r = createRng(5)
    const updates = Array.from({ length: 31 }, (_, i) => up(`u${i}`, Array.from({ length: 5 }, () => r.normal())))
    const med = aggregate({ kind: 'median' }, updates).result
    const tm = aggregate({ kind: 'trimmed-mean', beta: 0.1 }, updates).result
    for (let j = 0; j < 5; j++) {
      const col = updates.map(u => u.data[j]).sort((a, b) => a - b)
      expect(med[j]).toBe(col[15])
      expect(tm[j]).toBe(Math.fround(col.slice(3, 28).reduce((a, b) => a + b, 0) / 25))
    }
  })
})

describe('krum internals', () => {
  it('pairwise squared distances match a naive computation (lane tails and block edges included)', () => {
    for (const len of [1, 3, 4, 5, 4095, 4096, 4097, 9001]) {
      const r = createRng(len)
      const data = Array.from({ length: 4 }, () => Float32Array.from({ length: len }, () => r.int(21) - 10))
      const d = pairwiseSquaredDistances(data)
      for (let a = 0; a < 4; a++) {
        for (let b = 0; b < 4; b++) {
          let want = 0
          for (let j = 0; j < len; j++) want += (data[a][j] - data[b][j]) ** 2
          expect(d[a * 4 + b]).toBe(want) // small integers: every order of summation is exact
        }
      }
    }
  })

  it('scores sum the nearest neighbours', () => {
    // points 0, 1, 3, 10 on a line; squared distances; 1 neighbour = nearest
    const d = pairwiseSquaredDistances([0, 1, 3, 10].map(x => Float32Array.of(x)))
    expect(Array.from(krumScores(d, 4, 1))).toEqual([1, 1, 4, 49])
    expect(Array.from(krumScores(d, 4, 2))).toEqual([1 + 9, 1 + 4, 4 + 9, 49 + 81])
  })
})
