import { describe, it, expect } from 'vitest'
import { LengthPrefixedDecoder } from '@libp2p/utils'
import { quietShortReads } from '../../../src/node/noise-short-reads.js'

quietShortReads()

/** A length decoder shaped like noise's uint16BEDecode (a new RangeError for fewer than two bytes), counting its calls. */
function countingDecoder (): { decode: (data: { byteLength: number, subarray: (a?: number, b?: number) => Uint8Array }) => number, empty: number, short: number } {
  const c = {
    empty: 0,
    short: 0,
    decode: (data: { byteLength: number, subarray: (a?: number, b?: number) => Uint8Array }): number => {
      if (data.byteLength === 0) c.empty++
      if (data.byteLength < 2) { c.short++; throw new RangeError('Could not decode int16BE') }
      const b = data.subarray(0, 2)
      return (b[0] << 8) + b[1]
    }
  }
  return c
}

const frame = (body: Uint8Array): Uint8Array => Uint8Array.from([body.length >> 8, body.length & 0xff, ...body])
const bodies = [Uint8Array.from([1, 2, 3, 4, 5]), new Uint8Array(300).fill(7), Uint8Array.from([9])]
const wire = Uint8Array.from(bodies.flatMap(b => [...frame(b)]))

describe('noise frames without an exception per read (noise-short-reads.ts)', () => {
  it.each([
    ['all frames in one chunk', [wire.length]],
    ['a length split across chunks', [1, wire.length - 1]],
    ['a body split across chunks', [4, 100, wire.length - 104]],
    ['one byte at a time', Array.from({ length: wire.length }, () => 1)]
  ])('%s: the same frames, and the real length decoder never asked about an empty buffer', (_name, sizes) => {
    const lengths = countingDecoder()
    const decoder = new LengthPrefixedDecoder({ lengthDecoder: lengths.decode, encodingLength: () => 2 })
    const got: number[][] = []
    let at = 0
    for (const size of sizes) {
      for (const f of decoder.decode(wire.subarray(at, at + size))) got.push([...f.subarray()])
      at += size
    }
    expect(got).toEqual(bodies.map(b => [...b]))
    expect(lengths.empty).toBe(0)
    // only a chunk that ends inside a length prefix reaches the real decoder short (one byte of two)
    expect(lengths.short).toBe(sizes.length === wire.length ? bodies.length : sizes[0] === 1 ? 1 : 0)
  })

  it('is installed once, however often it is called', () => {
    const decode = LengthPrefixedDecoder.prototype.decode
    quietShortReads()
    expect(LengthPrefixedDecoder.prototype.decode).toBe(decode)
  })
})
