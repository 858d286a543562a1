import { describe, it, expect } from 'vitest'
import { spread } from '../../../src/common/jitter.js'

describe('spread: a delay moved within +-jitter of itself by a uniform draw', () => {
  it.each([
    { ms: 30_000, jitter: 0.5, draw: 0, want: 15_000 },
    { ms: 30_000, jitter: 0.5, draw: 0.5, want: 30_000 },
    { ms: 30_000, jitter: 0.5, draw: 0.75, want: 37_500 },
    { ms: 300_000, jitter: 0.2, draw: 0, want: 240_000 },
    { ms: 300_000, jitter: 0.2, draw: 0.25, want: 270_000 },
    { ms: 1000, jitter: 0, draw: 0.9, want: 1000 }
  ])('$ms ms, jitter $jitter, draw $draw -> $want ms', ({ ms, jitter, draw, want }) => {
    expect(spread(ms, jitter, draw)).toBeCloseTo(want, 9)
  })

  it('stays below ms x (1 + jitter) for every draw below 1', () => {
    expect(spread(1000, 0.25, 0.999_999)).toBeLessThan(1250)
  })
})
