import { describe, expect, it } from 'vitest'
import { applyStandardization, featureRangeWarning, fitStandardization, standardize } from '../../../../src/training/data/standardize.js'
import type { Dataset } from '../../../../src/training/data/dataset.js'

const ds = (rows: number[][]): Dataset => ({ name: 't', x: Float32Array.from(rows.flat()), y: new Int32Array(rows.length), features: rows[0].length, classes: 1 })

// defect 5 (issue 11): wine's features span 0.1 to 1,680 and trained to one class; nothing warned or scaled
describe('standardisation', () => {
  it('fits mean and population deviation per feature; a constant feature keeps scale 1', () => {
    const st = fitStandardization(ds([[1, 5, 100], [3, 5, 300]]))
    expect(st.mean).toEqual([2, 5, 200])
    expect(st.scale).toEqual([1, 1, 100])
  })

  it('standardises to mean 0 and deviation 1 and keeps the statistics', () => {
    const out = standardize(ds([[1, 1000], [2, 3000], [3, 2000]]))
    expect(out.standardization?.mean).toEqual([2, 2000])
    const col = (c: number): number[] => [0, 1, 2].map(r => out.x[r * 2 + c])
    for (const c of [0, 1]) {
      const v = col(c)
      expect(v.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 5)
      expect(v.reduce((a, b) => a + b * b, 0) / 3).toBeCloseTo(1, 5)
    }
    expect(() => standardize(out)).toThrow(/already standardised/)
  })

  it('applies stored statistics to raw rows (as predict does)', () => {
    expect(Array.from(applyStandardization(Float32Array.from([4, 10]), 2, { mean: [2, 0], scale: [2, 5] }))).toEqual([1, 2])
    expect(() => applyStandardization(Float32Array.from([1, 2, 3]), 3, { mean: [0], scale: [1] })).toThrow(/standardization for 1 features/)
  })

  it.each<[string, number[][], RegExp | undefined]>([
    ['ranges within two orders of magnitude', [[0, 0], [1, 50]], undefined],
    ['wine-like ranges', [[0.1, 278, 11], [0.6, 1680, 14.8]], /feature ranges differ by a factor of 2804 .*--standardize/],
    ['a constant feature is left out', [[5, 0], [5, 1]], undefined]
  ])('warns on %s', (_n, rows, want) => {
    const w = featureRangeWarning(ds(rows))
    if (want === undefined) expect(w).toBeUndefined()
    else expect(w).toMatch(want)
  })
})
