import { describe, it, expect } from 'vitest'
import { createHash } from 'node:crypto'
import { applyDelta, clipByNorm, computeDelta, l2Norm, modelHash, validateDelta } from '../../../../src/training/core/delta.js'
import { TrainingError } from '../../../../src/training/errors.js'

const f32 = (...xs: number[]): Float32Array => Float32Array.from(xs)

describe('computeDelta / applyDelta', () => {
  it.each<[string, number[], number[], number[]]>([
    ['simple', [1, 2, 3], [0.5, 2, 5], [0.5, 0, -2]],
    ['empty', [], [], []],
    ['float32 rounding', [1], [Math.fround(1e-8)], [Math.fround(1 - Math.fround(1e-8))]]
  ])('%s', (_n, local, global, want) => {
    const d = computeDelta(f32(...local), f32(...global))
    expect(Array.from(d)).toEqual(want)
  })

  it('applyDelta(global, computeDelta(local, global)) recovers exactly representable locals', () => {
    const g = f32(1, -2, 0.25, 100)
    const l = f32(1.5, -1, 0.125, 99)
    expect(applyDelta(g, computeDelta(l, g))).toEqual(l)
  })

  it.each<[number, number[]]>([[1, [2, 4]], [0.5, [1.5, 3]], [0, [1, 2]], [-1, [0, 0]]])('applyDelta scale %d', (scale, want) => {
    expect(Array.from(applyDelta(f32(1, 2), f32(1, 2), scale))).toEqual(want)
  })

  it.each<[string, () => unknown, string]>([
    ['length mismatch (compute)', () => computeDelta(f32(1), f32(1, 2)), 'ERR_SHAPE'],
    ['length mismatch (apply)', () => applyDelta(f32(1), f32(1, 2)), 'ERR_SHAPE'],
    ['non-finite scale', () => applyDelta(f32(1), f32(1), NaN), 'ERR_NONFINITE']
  ])('rejects %s', (_n, f, code) => {
    expect(f).toThrow(expect.objectContaining({ code }))
  })
})

describe('l2Norm / clipByNorm', () => {
  it.each<[number[], number]>([[[], 0], [[3, 4], 5], [[-3, -4], 5], [[1, 1, 1, 1], 2], [[1, 2, 3, 4, 5], Math.sqrt(55)], [[2, 2, 2, 2, 2, 2, 2, 2, 2], 6]])('l2Norm(%j) = %d', (v, n) => {
    expect(l2Norm(f32(...v))).toBe(n)
  })

  it.each<[number[], number, number[]]>([
    [[3, 4], 10, [3, 4]],
    [[3, 4], 5, [3, 4]],
    [[3, 4], 1, [0.6, 0.8]],
    [[0, 0], 1, [0, 0]]
  ])('clipByNorm(%j, %d)', (v, max, want) => {
    const src = f32(...v)
    const out = clipByNorm(src, max)
    expect(out).not.toBe(src)
    expect(Array.from(out)).toEqual(want.map(Math.fround))
    expect(Array.from(src)).toEqual(v) // input untouched
  })

  it('clipped norm is at most maxNorm up to float32 rounding', () => {
    const v = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 10)
    expect(l2Norm(clipByNorm(v, 2))).toBeLessThanOrEqual(2 * (1 + 1e-6))
    expect(l2Norm(clipByNorm(v, 2))).toBeGreaterThan(2 * (1 - 1e-6))
  })

  it.each([0, -1, NaN, Infinity])('rejects maxNorm %d', m => {
    expect(() => clipByNorm(f32(1), m)).toThrow(TrainingError)
  })
})

describe('validateDelta', () => {
  it.each<[string, Float32Array, number, number | undefined, string | null]>([
    ['ok', f32(1, -2, 3), 3, undefined, null],
    ['ok within maxAbs', f32(1, -2, 3), 3, 3, null],
    ['too short', f32(1, 2), 3, undefined, 'ERR_SHAPE'],
    ['too long', f32(1, 2, 3, 4), 3, undefined, 'ERR_SHAPE'],
    ['NaN', f32(1, NaN, 3), 3, undefined, 'ERR_NONFINITE'],
    ['+Infinity', f32(Infinity, 0, 0), 3, undefined, 'ERR_NONFINITE'],
    ['-Infinity', f32(0, 0, -Infinity), 3, 1e9, 'ERR_NONFINITE'],
    ['over maxAbs', f32(0, -3.5, 0), 3, 3, 'ERR_RANGE']
  ])('%s', (_n, d, len, maxAbs, code) => {
    const run = (): void => validateDelta(d, len, maxAbs === undefined ? {} : { maxAbs })
    if (code === null) expect(run).not.toThrow()
    else expect(run).toThrow(expect.objectContaining({ code, name: 'TrainingError' }))
  })
})

describe('modelHash', () => {
  it('is sha256 of the little-endian float32 bytes', () => {
    const v = f32(1, -2.5, 0)
    const bytes = Buffer.alloc(12)
    v.forEach((x, i) => bytes.writeFloatLE(x, i * 4))
    expect(modelHash(v)).toBe(createHash('sha256').update(bytes).digest('hex'))
    expect(modelHash(new Float32Array(0))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  })

  it('hashes only the view, and distinguishes -0 from 0', () => {
    const big = f32(9, 1, 2, 9)
    expect(modelHash(big.subarray(1, 3))).toBe(modelHash(f32(1, 2)))
    expect(modelHash(f32(-0))).not.toBe(modelHash(f32(0)))
  })
})
