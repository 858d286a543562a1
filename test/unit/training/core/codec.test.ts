import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import {
  DEFAULT_INT8_BLOCK, decodeDelta, encodeDelta, encodedSize, readDeltaHeader, type CompressionSpec
} from '../../../../src/training/core/codec.js'
import { float32ToHalf, halfToFloat32 } from '../../../../src/training/core/fp16.js'
import { createRng } from '../../../../src/training/core/rng.js'
import { TrainingError } from '../../../../src/training/errors.js'

const MAX = { maxElements: 1 << 22 }
const randomDelta = (n: number, seed: number, scale = 1): Float32Array => {
  const r = createRng(seed)
  return Float32Array.from({ length: n }, () => r.normal() * scale)
}
const bytesOf = (v: Float32Array): Uint8Array => new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
const specs: CompressionSpec[] = [{ kind: 'fp32' }, { kind: 'fp16' }, { kind: 'int8' }, { kind: 'int8', blockSize: 7 }, { kind: 'topk', fraction: 0.1 }]
const finiteF32 = fc.float({ noNaN: true, noDefaultInfinity: true })

describe('header', () => {
  it('writes magic, version, codec id, count and param little-endian', () => {
    const b = encodeDelta(Float32Array.of(1, 2, 3), { kind: 'int8', blockSize: 2 })
    expect(Array.from(b.subarray(0, 16))).toEqual([0x4d, 0x4e, 0x44, 0x31, 1, 2, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0])
    expect(readDeltaHeader(b, MAX)).toEqual({ version: 1, kind: 'int8', count: 3, param: 2 })
  })

  it.each<[CompressionSpec, number]>([
    [{ kind: 'fp32' }, 0], [{ kind: 'fp16' }, 1], [{ kind: 'int8' }, 2], [{ kind: 'topk', fraction: 0.5 }, 3]
  ])('codec id for %j is %d', (spec, id) => {
    expect(encodeDelta(new Float32Array(4), spec)[5]).toBe(id)
  })
})

describe('round trips', () => {
  it.each([0, 1, 5, 1000])('fp32 is bit-exact (n=%d), including NaN, inf and -0', n => {
    const v = randomDelta(n, n)
    if (n >= 5) v.set([NaN, Infinity, -Infinity, -0, 1e-45])
    const out = decodeDelta(encodeDelta(v, { kind: 'fp32' }), MAX)
    expect(bytesOf(out)).toEqual(bytesOf(v))
  })

  it('fp32 property: bit-exact for any float32 vector', () => {
    fc.assert(fc.property(fc.float32Array({ maxLength: 64 }), v => {
      expect(bytesOf(decodeDelta(encodeDelta(v, { kind: 'fp32' }), MAX))).toEqual(bytesOf(v))
    }))
  })

  it('fp16 decodes to exactly the rounded half of each element', () => {
    const v = Float32Array.of(0, -0, 1, 1 + 2 ** -11, 65504, 70000, -70000, 2 ** -24, 2 ** -26, Infinity, -Infinity, NaN, 0.1)
    const out = decodeDelta(encodeDelta(v, { kind: 'fp16' }), MAX)
    v.forEach((x, i) => expect(Object.is(out[i], halfToFloat32(float32ToHalf(x)))).toBe(true))
    expect(Array.from(out.subarray(0, 11))).toEqual([0, -0, 1, 1, 65504, Infinity, -Infinity, 2 ** -24, 0, Infinity, -Infinity])
    expect(out[11]).toBeNaN()
  })

  it('fp16 property: relative error <= 2^-11 in the normal range, absolute <= 2^-25 below it', () => {
    fc.assert(fc.property(fc.float32Array({ minLength: 1, maxLength: 64, noNaN: true, min: -65504, max: 65504 }), v => {
      const out = decodeDelta(encodeDelta(v, { kind: 'fp16' }), MAX)
      v.forEach((x, i) => {
        const err = Math.abs(out[i] - x)
        expect(err).toBeLessThanOrEqual(Math.abs(x) >= 2 ** -14 ? Math.abs(x) * 2 ** -11 : 2 ** -25)
      })
    }))
  })

  /** Checks the documented int8 contract block by block against the scales actually stored. */
  const checkInt8 = (v: Float32Array, bs: number): void => {
    const bytes = encodeDelta(v, { kind: 'int8', blockSize: bs })
    const out = decodeDelta(bytes, MAX)
    const nb = Math.ceil(v.length / bs)
    const scales = new Float32Array(bytes.slice(16, 16 + 4 * nb).buffer)
    for (let b = 0; b < nb; b++) {
      const blk = v.subarray(b * bs, (b + 1) * bs)
      const maxAbs = blk.reduce((m, x) => Math.max(m, Math.abs(x)), 0)
      const s = scales[b]
      // scale = maxAbs / 127 up to float32 rounding (a few ulp; subnormal blocks excepted)
      if (maxAbs > 2 ** -100) expect(Math.abs(s - maxAbs / 127)).toBeLessThanOrEqual(maxAbs / 127 * 2 ** -22)
      if (maxAbs === 0) expect(s).toBe(0)
      // <= scale / 2, plus the float32 rounding of q * scale (<= 127 * scale * 2^-24); never a sign flip
      const bad = Array.from(blk).findIndex((x, j) => {
        const y = out[b * bs + j]
        return !Number.isFinite(y) || Math.abs(y - x) > s / 2 * (1 + 2 ** -16) || Math.sign(y) * Math.sign(x) === -1
      })
      expect(bad, `block ${b} element ${bad}`).toBe(-1)
    }
  }

  it.each([1, 3, 256, 1000])('int8 (block %d) error <= scale / 2 per element, scale = block maxAbs / 127', bs => {
    const v = randomDelta(5000, bs, 0.01)
    v[17] = 0
    checkInt8(v, bs)
    expect(decodeDelta(encodeDelta(v, { kind: 'int8', blockSize: bs }), MAX)[17]).toBe(0)
  })

  it('int8 property: the error bound holds for any finite float32 input, subnormal and huge included', () => {
    fc.assert(fc.property(fc.array(finiteF32, { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 64 }), (xs, bs) => {
      checkInt8(Float32Array.from(xs), bs)
    }), { numRuns: 300 })
  })

  it.each<[string, number[]]>([
    ['subnormal block', [2 ** -148, -(2 ** -149), 0]],
    ['mixed subnormal', [3e-43, 1e-44, -2e-43]],
    ['FLT_MAX', [-3.4028234663852886e38, 0, 3.4028234663852886e38, 1e38]]
  ])('int8 edge case: %s', (_n, xs) => {
    checkInt8(Float32Array.from(xs), 2)
    checkInt8(Float32Array.from(xs), 256)
  })

  it('int8 quantises symmetrically', () => {
    const v = Float32Array.of(1, -1, 0.5, -0.5, 0.3, -0.3)
    const out = decodeDelta(encodeDelta(v, { kind: 'int8' }), MAX)
    for (let i = 0; i < v.length; i += 2) expect(out[i]).toBe(-out[i + 1])
  })

  it('topk keeps the largest magnitudes, ties to the lower index, zeros elsewhere', () => {
    const v = Float32Array.of(0.1, -5, 2, 2, -2, 0.3, 5, 0)
    // k = round(0.5 * 8) = 4: |5| at 1 and 6, then the |2| ties at 2 and 3 (not 4)
    const out = decodeDelta(encodeDelta(v, { kind: 'topk', fraction: 0.5 }), MAX)
    expect(Array.from(out)).toEqual([0, -5, 2, 2, 0, 0, 5, 0])
  })

  it('topk property: kept entries are exact, every kept |x| >= every dropped |x|, k = round(f n)', () => {
    fc.assert(fc.property(fc.array(finiteF32, { minLength: 1, maxLength: 200 }), fc.double({ min: 0.001, max: 1, noNaN: true }), (xs, fraction) => {
      const v = Float32Array.from(xs)
      const bytes = encodeDelta(v, { kind: 'topk', fraction })
      const k = readDeltaHeader(bytes, MAX).param
      expect(k).toBe(Math.min(v.length, Math.max(1, Math.round(fraction * v.length))))
      const idx = new Uint32Array(bytes.slice(16, 16 + 4 * k).buffer)
      const kept = new Set(idx)
      const out = decodeDelta(bytes, MAX)
      let minKept = Infinity
      let maxDropped = -Infinity
      v.forEach((x, i) => {
        if (kept.has(i)) { expect(Object.is(out[i], x)).toBe(true); minKept = Math.min(minKept, Math.abs(x)) } else { expect(out[i]).toBe(0); maxDropped = Math.max(maxDropped, Math.abs(x)) }
      })
      expect(minKept).toBeGreaterThanOrEqual(maxDropped)
    }))
  })
})

describe('sizes', () => {
  const n = 1_000_000
  it.each<[CompressionSpec, number]>([
    [{ kind: 'fp32' }, 16 + 4 * n],
    [{ kind: 'fp16' }, 16 + 2 * n],
    [{ kind: 'int8' }, 16 + 4 * Math.ceil(n / DEFAULT_INT8_BLOCK) + n],
    [{ kind: 'topk', fraction: 0.01 }, 16 + 8 * 10_000]
  ])('%j on 1M params', (spec, bytes) => {
    expect(encodedSize(n, spec)).toBe(bytes)
  })

  it('int8 is >= 3.9x smaller than fp32 for 1M params (actual encodings)', () => {
    const v = randomDelta(n, 1, 0.01)
    const fp32 = encodeDelta(v, { kind: 'fp32' })
    const int8 = encodeDelta(v, { kind: 'int8' })
    expect(fp32.length).toBe(encodedSize(n, { kind: 'fp32' }))
    expect(int8.length).toBe(encodedSize(n, { kind: 'int8' }))
    expect(fp32.length / int8.length).toBeGreaterThanOrEqual(3.9)
    expect(encodeDelta(v, { kind: 'topk', fraction: 0.01 }).length).toBe(16 + 80_000)
  })
})

describe('encode rejects', () => {
  it.each<[string, Float32Array, CompressionSpec, string]>([
    ['int8 NaN', Float32Array.of(1, NaN), { kind: 'int8' }, 'ERR_NONFINITE'],
    ['int8 inf', Float32Array.of(Infinity), { kind: 'int8' }, 'ERR_NONFINITE'],
    ['topk NaN', Float32Array.of(NaN, 1), { kind: 'topk', fraction: 0.5 }, 'ERR_NONFINITE'],
    ['int8 block 0', Float32Array.of(1), { kind: 'int8', blockSize: 0 }, 'ERR_CODEC'],
    ['int8 block 1.5', Float32Array.of(1), { kind: 'int8', blockSize: 1.5 }, 'ERR_CODEC'],
    ['int8 block too big', Float32Array.of(1), { kind: 'int8', blockSize: 65537 }, 'ERR_CODEC'],
    ['topk fraction 0', Float32Array.of(1), { kind: 'topk', fraction: 0 }, 'ERR_CODEC'],
    ['topk fraction > 1', Float32Array.of(1), { kind: 'topk', fraction: 1.5 }, 'ERR_CODEC'],
    ['unknown kind', Float32Array.of(1), { kind: 'zstd' } as unknown as CompressionSpec, 'ERR_CODEC']
  ])('%s', (_n, v, spec, code) => {
    expect(() => encodeDelta(v, spec)).toThrow(expect.objectContaining({ code }))
  })
})

describe('decode rejects malformed input with ERR_CODEC', () => {
  const good = encodeDelta(Float32Array.of(1, 2, 3, 4), { kind: 'fp32' })
  const mutate = (b: Uint8Array, at: number, v: number): Uint8Array => { const c = b.slice(); c[at] = v; return c }
  const topk = encodeDelta(Float32Array.of(1, 5, 3, 7), { kind: 'topk', fraction: 0.5 })
  const int8 = encodeDelta(Float32Array.of(1, -2, 3, 4), { kind: 'int8', blockSize: 2 })
  it.each<[string, Uint8Array, number?]>([
    ['empty', new Uint8Array(0)],
    ['short header', good.subarray(0, 15)],
    ['truncated body', good.subarray(0, good.length - 1)],
    ['trailing byte', Uint8Array.of(...good, 0)],
    ['bad magic', mutate(good, 0, 0x4e)],
    ['unknown version 0', mutate(good, 4, 0)],
    ['unknown version 2', mutate(good, 4, 2)],
    ['unknown codec', mutate(good, 5, 9)],
    ['reserved bits', mutate(good, 7, 1)],
    ['fp32 with a param', mutate(good, 12, 1)],
    ['count over max', good, 3],
    ['huge count', mutate(good, 11, 0xff)],
    ['int8 block 0', mutate(mutate(int8, 12, 0), 13, 0)],
    ['int8 -128', mutate(int8, int8.length - 1, 0x80)],
    ['int8 NaN scale', (() => { const c = int8.slice(); new DataView(c.buffer).setFloat32(16, NaN, true); return c })()],
    ['int8 scale overflowing on decode', (() => { const c = int8.slice(); new DataView(c.buffer).setFloat32(16, 3e38, true); return c })()],
    ['int8 negative scale', (() => { const c = int8.slice(); new DataView(c.buffer).setFloat32(16, -1, true); return c })()],
    ['topk k > count', mutate(topk, 12, 5)],
    ['topk descending indices', (() => { const c = topk.slice(); const dv = new DataView(c.buffer); dv.setUint32(16, 3, true); dv.setUint32(20, 1, true); return c })()],
    ['topk duplicate index', (() => { const c = topk.slice(); const dv = new DataView(c.buffer); dv.setUint32(16, 3, true); return c })()],
    ['topk index out of range', (() => { const c = topk.slice(); new DataView(c.buffer).setUint32(20, 4, true); return c })()]
  ])('%s', (_n, bytes, maxElements = 100) => {
    expect(() => decodeDelta(bytes, { maxElements })).toThrow(expect.objectContaining({ code: 'ERR_CODEC', name: 'TrainingError' }))
  })

  it('sanity: the unmutated inputs decode', () => {
    expect(Array.from(decodeDelta(topk, MAX))).toEqual([0, 5, 0, 7])
    expect(decodeDelta(int8, MAX)).toHaveLength(4)
  })

  it('decodes from an unaligned view', () => {
    const v = randomDelta(33, 3)
    for (const spec of specs) {
      const enc = encodeDelta(v, spec)
      const shifted = new Uint8Array(enc.length + 1)
      shifted.set(enc, 1)
      expect(decodeDelta(shifted.subarray(1), MAX)).toEqual(decodeDelta(enc, MAX))
    }
  })

  it('fuzz: random bytes, truncations and bit flips only ever throw TrainingError', () => {
    const valid = specs.map(s => encodeDelta(randomDelta(40, 1), s))
    const check = (b: Uint8Array): void => {
      try {
        const out = decodeDelta(b, { maxElements: 64 })
        expect(out.length).toBeLessThanOrEqual(64)
      } catch (e) {
        if (!(e instanceof TrainingError) || e.code !== 'ERR_CODEC') throw e
      }
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), check), { numRuns: 2000 })
    for (const b of valid) expect(decodeDelta(b, { maxElements: 64 })).toHaveLength(40)
    fc.assert(fc.property(fc.constantFrom(...valid), fc.nat(), (b, cut) => { check(b.subarray(0, cut % b.length)) }), { numRuns: 500 })
    fc.assert(fc.property(fc.constantFrom(...valid), fc.nat(), fc.integer({ min: 0, max: 7 }), (b, at, bit) => {
      const c = b.slice()
      c[at % c.length] ^= 1 << bit
      check(c)
    }), { numRuns: 2000 })
    // header with a valid prefix but random rest: reaches the parameter checks
    fc.assert(fc.property(fc.integer({ min: 0, max: 3 }), fc.uint8Array({ minLength: 10, maxLength: 300 }), (id, rest) => {
      const b = Uint8Array.of(0x4d, 0x4e, 0x44, 0x31, 1, id, 0, 0, ...rest)
      check(b)
    }), { numRuns: 2000 })
  })

  it.each([-1, 1.5, NaN])('rejects maxElements %d as a caller error', m => {
    expect(() => decodeDelta(good, { maxElements: m })).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT' }))
  })
})
