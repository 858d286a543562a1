import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { nthElement, sortPrefix } from '../../../../src/training/core/select.js'

describe('nthElement', () => {
  const asc = (a: number, b: number): number => a - b
  it.each<[string, number[]]>([
    ['single', [5]],
    ['pair reversed', [2, 1]],
    ['all equal', new Array(1000).fill(3)],
    ['sorted', Array.from({ length: 1000 }, (_, i) => i)],
    ['reversed', Array.from({ length: 1000 }, (_, i) => -i)],
    ['two values', Array.from({ length: 1001 }, (_, i) => i % 2)],
    ['organ pipe', Array.from({ length: 1000 }, (_, i) => Math.min(i, 999 - i))]
  ])('%s: every rank', (_n, xs) => {
    const sorted = [...xs].sort(asc)
    for (const k of [0, xs.length >> 1, xs.length - 1, Math.floor(xs.length / 3)]) {
      const a = Float32Array.from(xs)
      expect(nthElement(a, k)).toBe(sorted[k])
      expect(a[k]).toBe(sorted[k])
      for (let i = 0; i < k; i++) expect(a[i]).toBeLessThanOrEqual(a[k])
    }
  })

  it('property: returns the k-th smallest of any finite array', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 200 }), fc.nat(), (xs, kk) => {
      const k = kk % xs.length
      expect(nthElement(Float64Array.from(xs), k)).toBe([...xs].sort(asc)[k])
    }))
  })
})

describe('sortPrefix', () => {
  it.each([0, 1, 2, 10, 24, 25, 40])('sorts the first %d entries and leaves the rest', n => {
    const a = Float64Array.from({ length: n + 3 }, (_, i) => ((i * 7919) % 13) - 6)
    const tail = Array.from(a.subarray(n))
    const want = Array.from(a.subarray(0, n)).sort((x, y) => x - y)
    sortPrefix(a, n)
    expect(Array.from(a.subarray(0, n))).toEqual(want)
    expect(Array.from(a.subarray(n))).toEqual(tail)
  })
})
