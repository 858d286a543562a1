import { describe, it, expect } from 'vitest'
import { adaptiveDeadline, selectAggregator } from '../../../../src/training/core/round-timing.js'

describe('adaptiveDeadline', () => {
  const opts = { k: 3, minMs: 1000, capMs: 60_000 }
  it.each<[string, number[], { k: number, minMs: number, capMs: number }, number]>([
    // median 5000, deviations [0, 1000, 1000] -> MAD 1000 -> 5000 + 3000
    ['odd count', [4000, 5000, 6000], opts, 8000],
    // median (4000 + 6000) / 2 = 5000, deviations sorted [1000, 1000, 2000, 2000] -> MAD 1500 -> 5000 + 4500
    ['even count', [6000, 4000, 3000, 7000], opts, 9500],
    // one straggler barely moves it: median 2000, deviations [0, 0, 0, 1000, 98000] -> MAD 0
    ['straggler-robust', [2000, 2000, 2000, 1000, 100_000], opts, 2000],
    ['clamped to min', [10, 20, 30], opts, 1000],
    ['clamped to cap', [50_000, 10_000, 90_000], opts, 60_000],
    ['k = 0 is the median', [1500, 2500], { k: 0, minMs: 0, capMs: 1e9 }, 2000],
    ['no arrivals waits to the cap', [], opts, 60_000],
    ['input order irrelevant', [6000, 5000, 4000], opts, 8000]
  ])('%s', (_n, arrivals, o, want) => {
    expect(adaptiveDeadline(arrivals, o)).toBe(want)
  })

  it('does not mutate its input', () => {
    const a = [3, 1, 2]
    adaptiveDeadline(a, opts)
    expect(a).toEqual([3, 1, 2])
  })

  it.each<[string, number[], { k: number, minMs: number, capMs: number }]>([
    ['min > cap', [1], { k: 1, minMs: 10, capMs: 5 }],
    ['negative k', [1], { k: -1, minMs: 0, capMs: 5 }],
    ['NaN arrival', [NaN], opts]
  ])('rejects %s', (_n, a, o) => {
    expect(() => adaptiveDeadline(a, o)).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT' }))
  })
})

describe('selectAggregator', () => {
  const peers = [
    { peerId: 'peerC', reputation: 5 },
    { peerId: 'peerA', reputation: 9 },
    { peerId: 'peerB', reputation: 5 },
    { peerId: 'peerD', reputation: 1 }
  ] // ordered: A (9), B (5), C (5), D (1)
  it.each<[number, number, string]>([
    [0, 0, 'peerA'], [1, 0, 'peerB'], [2, 0, 'peerC'], [3, 0, 'peerD'], [4, 0, 'peerA'],
    [0, 1, 'peerB'], [0, 2, 'peerC'], [3, 2, 'peerB'], [1001, 0, 'peerB']
  ])('round %d attempt %d -> %s', (round, attempt, want) => {
    expect(selectAggregator(peers, round, attempt)).toBe(want)
    expect(selectAggregator([...peers].reverse(), round, attempt)).toBe(want)
  })

  it('orders ids by code unit, not locale', () => {
    const c = [{ peerId: 'b', reputation: 1 }, { peerId: 'B', reputation: 1 }, { peerId: 'a', reputation: 1 }]
    expect([0, 1, 2].map(r => selectAggregator(c, r, 0))).toEqual(['B', 'a', 'b'])
  })

  it.each<[string, Array<{ peerId: string, reputation: number }>, number, number, string]>([
    ['no candidates', [], 0, 0, 'ERR_AGGREGATION'],
    ['negative round', peers, -1, 0, 'ERR_ARGUMENT'],
    ['fractional attempt', peers, 0, 0.5, 'ERR_ARGUMENT'],
    ['NaN reputation', [{ peerId: 'x', reputation: NaN }], 0, 0, 'ERR_ARGUMENT']
  ])('rejects %s', (_n, c, r, a, code) => {
    expect(() => selectAggregator(c, r, a)).toThrow(expect.objectContaining({ code }))
  })
})
