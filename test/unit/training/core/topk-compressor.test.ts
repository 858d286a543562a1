import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { TopKCompressor } from '../../../../src/training/core/topk-compressor.js'
import { decodeDelta, encodeDelta } from '../../../../src/training/core/codec.js'
import { TrainingError } from '../../../../src/training/errors.js'

const MAX = { maxElements: 1 << 20 }

describe('TopKCompressor (error feedback)', () => {
  it('first round equals plain top-k and remembers what it dropped', () => {
    const d = Float32Array.of(1, -4, 2, 0.5)
    const c = new TopKCompressor(0.5)
    const bytes = c.compress(d)
    expect(bytes).toEqual(encodeDelta(d, { kind: 'topk', fraction: 0.5 }))
    expect(Array.from(c.residual())).toEqual([1, 0, 0, 0.5])
  })

  it('table: dropped mass is sent in later rounds', () => {
    const c = new TopKCompressor(0.25) // k = 1 of 4
    const rounds = [
      { delta: [3, 1, 1, 2.5], sent: [3, 0, 0, 0], residual: [0, 1, 1, 2.5] },
      { delta: [0.5, 0, 0, 1], sent: [0, 0, 0, 3.5], residual: [0.5, 1, 1, 0] },
      { delta: [0, 0, 0, 0], sent: [0, 1, 0, 0], residual: [0.5, 0, 1, 0] }, // tie 1 vs 1: lower index
      { delta: [0, 0, 0, 0], sent: [0, 0, 1, 0], residual: [0.5, 0, 0, 0] }
    ]
    for (const r of rounds) {
      expect(Array.from(decodeDelta(c.compress(Float32Array.from(r.delta)), MAX))).toEqual(r.sent)
      expect(Array.from(c.residual())).toEqual(r.residual)
    }
  })

  it('property: sum of sent + residual = sum of inputs (no mass is lost)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 40 }).chain(n => fc.array(fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: n, maxLength: n }), { minLength: 1, maxLength: 6 })),
      fc.double({ min: 0.01, max: 1, noNaN: true }),
      (deltas, fraction) => {
        // integer-valued inputs keep every float32 sum exact, so the identity holds with equality
        const n = deltas[0].length
        const c = new TopKCompressor(fraction)
        const sent = new Float64Array(n)
        const input = new Float64Array(n)
        for (const d of deltas) {
          const out = decodeDelta(c.compress(Float32Array.from(d)), MAX)
          out.forEach((x, i) => { sent[i] += x })
          d.forEach((x, i) => { input[i] += x })
        }
        const res = c.residual()
        for (let i = 0; i < n; i++) expect(sent[i] + res[i]).toBe(input[i])
      }))
  })

  it('is deterministic: two compressors fed the same deltas emit the same bytes', () => {
    const a = new TopKCompressor(0.1)
    const b = new TopKCompressor(0.1)
    for (let r = 0; r < 3; r++) {
      const d = Float32Array.from({ length: 500 }, (_, i) => Math.sin(i * (r + 1)))
      expect(a.compress(d)).toEqual(b.compress(d))
    }
  })

  it('reset() forgets the residual; length changes are rejected', () => {
    const c = new TopKCompressor(0.5)
    c.compress(Float32Array.of(1, 2))
    expect(() => c.compress(Float32Array.of(1, 2, 3))).toThrow(expect.objectContaining({ code: 'ERR_SHAPE' }))
    c.reset()
    expect(c.residual(3)).toEqual(new Float32Array(3))
    expect(() => c.compress(Float32Array.of(1, 2, 3))).not.toThrow()
  })

  it.each([0, -0.1, 1.01, NaN])('rejects fraction %d', f => {
    expect(() => new TopKCompressor(f)).toThrow(TrainingError)
  })
})
