import { describe, it, expect } from 'vitest'
import { encodeDelta } from '../../../../src/training/core/codec.js'
import { modelHash } from '../../../../src/training/core/delta.js'
import { screenDeltas, nextModel, decodeCheckedDelta } from '../../../../src/training/service/recompute.js'
import { corruptDelta } from '../../../../src/training/service/adversary.js'

const P = 100
const honest = (seed: number): Float32Array => Float32Array.from({ length: P }, (_, i) => Math.sin(i * seed) / 10)

describe('delta screening', () => {
  const cases: Array<[string, Uint8Array, string | null]> = [
    ['honest fp32', encodeDelta(honest(1), { kind: 'fp32' }), null],
    ['honest int8', encodeDelta(honest(1), { kind: 'int8' }), null],
    ['NaN/Inf', corruptDelta({ kind: 'nan', scale: 1 }, honest(1), { kind: 'fp32' }) as Uint8Array, 'ERR_NONFINITE'],
    ['wrong shape', corruptDelta({ kind: 'wrong-shape', scale: 1 }, honest(1), { kind: 'fp32' }) as Uint8Array, 'ERR_SHAPE'],
    ['garbage', corruptDelta({ kind: 'garbage', scale: 1 }, honest(1), { kind: 'fp32' }) as Uint8Array, 'ERR_CODEC'],
    ['truncated', encodeDelta(honest(1), { kind: 'fp32' }).subarray(0, 50), 'ERR_CODEC'],
    ['empty', new Uint8Array(0), 'ERR_CODEC']
  ]
  it.each(cases)('%s', (_n, bytes, code) => {
    const { usable, rejected } = screenDeltas([{ cid: 'c', peerId: 'p', samples: 1, bytes }], P)
    if (code == null) { expect(usable).toHaveLength(1); expect(rejected).toHaveLength(0) } else {
      expect(usable).toHaveLength(0)
      expect(rejected[0].code).toBe(code)
    }
  })

  it('sign-flip is well-formed (it is the aggregation rule that must resist it)', () => {
    const bytes = corruptDelta({ kind: 'sign-flip', scale: 10 }, honest(1), { kind: 'fp32' }) as Uint8Array
    expect(decodeCheckedDelta(bytes, P)[3]).toBeCloseTo(-10 * honest(1)[3], 5)
  })

  it('the next model does not depend on the order deltas arrive in', () => {
    const base = honest(7)
    const ds = [1, 2, 3, 4].map(s => ({ cid: `c${s}`, samples: 10 * s, delta: honest(s) }))
    const a = nextModel({ aggregation: { kind: 'fedavg' } }, base, ds)
    const b = nextModel({ aggregation: { kind: 'fedavg' } }, base, [...ds].reverse())
    expect(modelHash(a)).toBe(modelHash(b))
    const m = nextModel({ aggregation: { kind: 'median' } }, base, [ds[2], ds[0], ds[3], ds[1]])
    expect(modelHash(m)).toBe(modelHash(nextModel({ aggregation: { kind: 'median' } }, base, ds)))
  })

  it('fedavg adds the sample-weighted mean delta to the base', () => {
    // base + (1*[1,0,-1] + 3*[4,2,2]) / (1 + 3) = [1,2,3] + [3.25,1.5,1.25]: exact in float32
    const next = nextModel({ aggregation: { kind: 'fedavg' } }, Float32Array.of(1, 2, 3), [
      { cid: 'a', samples: 1, delta: Float32Array.of(1, 0, -1) },
      { cid: 'b', samples: 3, delta: Float32Array.of(4, 2, 2) }
    ])
    expect(Array.from(next)).toEqual([4.25, 3.5, 4.25])
  })
})
