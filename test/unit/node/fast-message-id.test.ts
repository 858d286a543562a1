import { describe, expect, it } from 'vitest'
import { fastMessageId } from '../../../src/node/libp2p.js'

const bytes = (...xs: number[]): Uint8Array => Uint8Array.from(xs)

describe('fastMessageId (gossipsub duplicate filter before signature checks)', () => {
  it.each([
    { what: 'same author and seqno, different data', a: { from: bytes(1, 2), seqno: bytes(0, 1), data: bytes(9) }, b: { from: bytes(1, 2), seqno: bytes(0, 1), data: bytes(8) }, same: true },
    { what: 'another seqno', a: { from: bytes(1, 2), seqno: bytes(0, 1) }, b: { from: bytes(1, 2), seqno: bytes(0, 2) }, same: false },
    { what: 'another author', a: { from: bytes(1, 2), seqno: bytes(0, 1) }, b: { from: bytes(1, 3), seqno: bytes(0, 1) }, same: false },
    { what: 'bytes moved from author to seqno', a: { from: bytes(1, 2, 3, 4, 5, 6), seqno: bytes() }, b: { from: bytes(1, 2, 3), seqno: bytes(4, 5, 6) }, same: false }
  ])('$what', ({ a, b, same }) => {
    expect(fastMessageId(a) === fastMessageId(b)).toBe(same)
  })

  it('gives unsigned messages (refused under StrictSign anyway) the empty id, never remembered', () => {
    expect(fastMessageId({ from: bytes(1) })).toBe('')
    expect(fastMessageId({ seqno: bytes(1) })).toBe('')
  })
})
