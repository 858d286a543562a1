import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { float32ToHalf, halfToFloat32 } from '../../../../src/training/core/fp16.js'

const bitsToF32 = (b: number): number => new Float32Array(new Uint32Array([b]).buffer)[0]

describe('float32 -> half (round to nearest even)', () => {
  it.each<[string, number, number]>([
    ['zero', 0, 0x0000],
    ['negative zero', -0, 0x8000],
    ['one', 1, 0x3c00],
    ['-2', -2, 0xc000],
    ['tie 1 + 2^-11 rounds down to even', 1 + 2 ** -11, 0x3c00],
    ['tie 1 + 3 * 2^-11 rounds up to even', 1 + 3 * 2 ** -11, 0x3c02],
    ['just over a tie rounds up', 1 + 2 ** -11 + 2 ** -20, 0x3c01],
    ['max half', 65504, 0x7bff],
    ['below the overflow tie', 65519, 0x7bff],
    ['overflow tie -> inf', 65520, 0x7c00],
    ['large -> inf', 1e10, 0x7c00],
    ['-large -> -inf', -1e10, 0xfc00],
    ['inf', Infinity, 0x7c00],
    ['-inf', -Infinity, 0xfc00],
    ['min normal', 2 ** -14, 0x0400],
    ['largest subnormal', 1023 * 2 ** -24, 0x03ff],
    ['subnormal rounding up into normal', (1023.5) * 2 ** -24, 0x0400],
    ['min subnormal', 2 ** -24, 0x0001],
    ['tie half of min subnormal -> 0', 2 ** -25, 0x0000],
    ['just above that tie -> min subnormal', 2 ** -25 + 2 ** -40, 0x0001],
    ['1.5 * min subnormal -> 2 (even)', 1.5 * 2 ** -24, 0x0002],
    ['float32 subnormal -> 0', 1e-45, 0x0000],
    ['-tiny -> -0', -1e-30, 0x8000]
  ])('%s', (_n, x, h) => {
    expect(float32ToHalf(x)).toBe(h)
  })

  it('NaN stays NaN (quiet)', () => {
    expect(Number.isNaN(halfToFloat32(float32ToHalf(NaN)))).toBe(true)
    expect(float32ToHalf(NaN) & 0x7e00).toBe(0x7e00)
    expect(Number.isNaN(halfToFloat32(float32ToHalf(bitsToF32(0x7f800001))))).toBe(true) // signalling NaN is not inf
  })

  it('round-trips all 63488 non-NaN half patterns exactly', () => {
    for (let h = 0; h < 65536; h++) {
      if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) continue
      if (float32ToHalf(halfToFloat32(h)) !== h) throw new Error(`half ${h.toString(16)} does not round-trip`)
    }
  })

  it('property: the result is the nearest half, ties to even', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0x7f7fffff }), fc.boolean(), (bits, neg) => {
      const x = bitsToF32(bits) * (neg ? -1 : 1)
      const h = float32ToHalf(x)
      const v = halfToFloat32(h)
      if (Math.abs(x) >= 65520) return v === (neg ? -Infinity : Infinity)
      // neighbours in magnitude: the encoded value must be at least as close as either
      const mag = h & 0x7fff
      const err = Math.abs(Math.abs(x) - Math.abs(v))
      for (const m of [mag - 1, mag + 1]) {
        if (m < 0 || m > 0x7bff) continue
        const e = Math.abs(Math.abs(x) - halfToFloat32(m))
        if (e < err || (e === err && (mag & 1) === 1)) return false
      }
      return Math.sign(v) === Math.sign(x) || v === 0
    }), { numRuns: 5000 })
  })
})
