import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { partition, trainTestSplit, type PartitionSpec } from '../../../../src/training/core/partition.js'
import { createRng } from '../../../../src/training/core/rng.js'

/** `perClass` samples of each of `classes` labels, in a seeded random order. */
const balanced = (classes: number, perClass: number, seed = 1): number[] =>
  createRng(seed).shuffle(Array.from({ length: classes * perClass }, (_, i) => i % classes))

const expectExactCover = (clients: number[][], n: number): void => {
  const all = clients.flat().sort((a, b) => a - b)
  expect(all).toEqual(Array.from({ length: n }, (_, i) => i))
  for (const c of clients) expect(c).toEqual([...c].sort((a, b) => a - b))
}
const distinctLabels = (labels: number[], idx: number[]): number => new Set(idx.map(i => labels[i])).size

describe('partition', () => {
  const schemes: Array<PartitionSpec['scheme']> = ['iid', 'shards', 'dirichlet']

  it('property: every index lands in exactly one client, lists ascending, one list per client', () => {
    fc.assert(fc.property(
      fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 300 }), fc.integer({ min: 1, max: 20 }), fc.integer(),
      fc.constantFrom(...schemes), fc.double({ min: 0.01, max: 10, noNaN: true }), fc.integer({ min: 1, max: 4 }),
      (labels, of, seed, scheme, alpha, shardsPerClient) => {
        const clients = partition(labels, { scheme, of, seed, alpha, shardsPerClient })
        expect(clients).toHaveLength(of)
        expectExactCover(clients, labels.length)
      }), { numRuns: 300 })
  })

  it.each(schemes)('%s is deterministic by seed', scheme => {
    const labels = balanced(10, 50)
    const a = partition(labels, { scheme, of: 7, seed: 42 })
    expect(partition(Int32Array.from(labels), { scheme, of: 7, seed: 42 })).toEqual(a)
    expect(partition(labels, { scheme, of: 7, seed: 43 })).not.toEqual(a)
  })

  it.each<[number, number, number[]]>([[10, 3, [4, 3, 3]], [9, 3, [3, 3, 3]], [2, 4, [1, 1, 0, 0]], [0, 2, [0, 0]]])('iid splits %d samples over %d clients as %j', (n, of, sizes) => {
    expect(partition(new Array(n).fill(0), { scheme: 'iid', of, seed: 1 }).map(c => c.length)).toEqual(sizes)
  })

  // balanced = every class is a whole number of shards (the FedAvg MNIST setup: 6000 per class, shards of 300)
  it.each<[number, number, number]>([[10, 60, 30], [10, 20, 100], [4, 25, 10], [10, 600, 100]])('shards: %d balanced classes x %d samples over %d clients gives each <= 2 labels', (classes, per, of) => {
    const labels = balanced(classes, per)
    const clients = partition(labels, { scheme: 'shards', of, seed: 3 })
    for (const c of clients) expect(distinctLabels(labels, c)).toBeLessThanOrEqual(2)
    expect(new Set(clients.map(c => c.length)).size).toBe(1)
  })

  it('shards with shardsPerClient = 1 gives one label per client', () => {
    const labels = balanced(5, 40)
    for (const c of partition(labels, { scheme: 'shards', of: 10, seed: 8, shardsPerClient: 1 })) expect(distinctLabels(labels, c)).toBe(1)
  })

  it('dirichlet: small alpha skews labels, large alpha spreads them', () => {
    const labels = balanced(10, 200)
    const mean = (alpha: number): number => {
      const clients = partition(labels, { scheme: 'dirichlet', of: 10, seed: 5, alpha })
      return clients.reduce((s, c) => s + distinctLabels(labels, c), 0) / clients.length
    }
    expect(mean(100)).toBe(10)
    expect(mean(0.05)).toBeLessThan(4)
  })

  it('dirichlet with alpha large gives near-equal shares per class', () => {
    const labels = balanced(2, 1000)
    const clients = partition(labels, { scheme: 'dirichlet', of: 4, seed: 9, alpha: 1000 })
    for (const c of clients) expect(c.length).toBeGreaterThan(400)
  })

  it('dirichlet with a tiny alpha still covers every sample', () => {
    const labels = balanced(3, 30)
    expectExactCover(partition(labels, { scheme: 'dirichlet', of: 5, seed: 2, alpha: 1e-4 }), 90)
  })

  it.each<[string, ArrayLike<number>, PartitionSpec]>([
    ['zero clients', [0, 1], { scheme: 'iid', of: 0, seed: 1 }],
    ['fractional clients', [0, 1], { scheme: 'iid', of: 1.5, seed: 1 }],
    ['negative label', [0, -1], { scheme: 'iid', of: 1, seed: 1 }],
    ['fractional label', [0, 0.5], { scheme: 'shards', of: 1, seed: 1 }],
    ['bad seed', [0], { scheme: 'iid', of: 1, seed: 0.5 }],
    ['alpha 0', [0], { scheme: 'dirichlet', of: 1, seed: 1, alpha: 0 }],
    ['shardsPerClient 0', [0], { scheme: 'shards', of: 1, seed: 1, shardsPerClient: 0 }],
    ['unknown scheme', [0], { scheme: 'zipf', of: 1, seed: 1 } as unknown as PartitionSpec]
  ])('rejects %s', (_n, labels, spec) => {
    expect(() => partition(labels, spec)).toThrow(expect.objectContaining({ name: 'TrainingError', code: 'ERR_ARGUMENT' }))
  })
})

describe('trainTestSplit', () => {
  it.each<[number, number, number]>([[100, 0.2, 20], [10, 0, 0], [10, 1, 10], [7, 0.5, 4], [0, 0.3, 0]])('n=%d fraction=%d -> %d test', (n, f, nTest) => {
    const { train, test } = trainTestSplit(n, f, 11)
    expect(test).toHaveLength(nTest)
    expectExactCover([train, test], n)
  })

  it('is deterministic and seed-dependent', () => {
    expect(trainTestSplit(50, 0.3, 1)).toEqual(trainTestSplit(50, 0.3, 1))
    expect(trainTestSplit(50, 0.3, 1)).not.toEqual(trainTestSplit(50, 0.3, 2))
  })

  it.each<[number, number]>([[-1, 0.5], [1.5, 0.5], [10, -0.1], [10, 1.1], [10, NaN]])('rejects n=%d fraction=%d', (n, f) => {
    expect(() => trainTestSplit(n, f, 1)).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT' }))
  })
})
