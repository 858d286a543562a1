import { describe, expect, it } from 'vitest'
import { isBuiltin, loadBuiltin } from '../../../../src/training/data/builtin.js'
import { classCounts, subset, validateDataset } from '../../../../src/training/data/dataset.js'

describe('built-in datasets', () => {
  it('loads the UCI digits: 1797 rows of 64 pixels scaled to [0, 1], 10 classes', async () => {
    const ds = await loadBuiltin('digits')
    expect(ds).toMatchObject({ name: 'digits', features: 64, classes: 10, shape: [8, 8, 1] })
    expect(ds.y.length).toBe(1797)
    validateDataset(ds)
    let min = Infinity; let max = -Infinity
    for (const v of ds.x) { min = Math.min(min, v); max = Math.max(max, v) }
    expect([min, max]).toEqual([0, 1])
    // the first row of the file: 0,0,5,13,9,1,0,0,... label 0
    expect(Array.from(ds.x.subarray(0, 4))).toEqual([0, 0, 5 / 16, 13 / 16].map(Math.fround))
    expect(ds.y[0]).toBe(0)
    expect(classCounts(ds).every(c => c >= 170 && c <= 190)).toBe(true)
  })

  it('returns fresh copies so callers may mutate theirs', async () => {
    const a = await loadBuiltin('digits')
    a.x[0] = 42
    const b = await loadBuiltin('digits')
    expect(b.x[0]).toBe(0)
  })

  it('loads the mnist package: 10,000 28x28 digits in [0, 1] with all 10 labels', async () => {
    const ds = await loadBuiltin('mnist')
    expect(ds).toMatchObject({ name: 'mnist', features: 784, classes: 10, shape: [28, 28, 1] })
    expect(ds.y.length).toBe(10000)
    expect(ds.x.length).toBe(ds.y.length * 784)
    const counts = classCounts(ds)
    expect(counts.every(c => c > 800)).toBe(true)
    let max = 0
    for (let i = 0; i < ds.x.length; i += 97) max = Math.max(max, ds.x[i])
    expect(max).toBeLessThanOrEqual(1)
    expect(max).toBeGreaterThan(0.9)
  })

  it('knows its names', async () => {
    expect(isBuiltin('digits')).toBe(true)
    expect(isBuiltin('cifar')).toBe(false)
    await expect(loadBuiltin('cifar' as 'digits')).rejects.toMatchObject({ code: 'ERR_DATASET_NOT_FOUND' })
  })
})

describe('subset', () => {
  it('copies the chosen rows in order and checks indices', async () => {
    const ds = await loadBuiltin('digits')
    const s = subset(ds, [5, 0, 5])
    expect(s.y.length).toBe(3)
    expect(Array.from(s.y)).toEqual([ds.y[5], ds.y[0], ds.y[5]])
    expect(Array.from(s.x.subarray(64, 128))).toEqual(Array.from(ds.x.subarray(0, 64)))
    expect(s.shape).toEqual([8, 8, 1])
    expect(() => subset(ds, [1797])).toThrow(/outside/)
    expect(() => subset(ds, [1.5])).toThrow(/outside/)
  })
})
