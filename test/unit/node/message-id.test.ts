import { describe, expect, it } from 'vitest'
import { messageId } from '../../../src/node/libp2p.js'

const bytes = (...xs: number[]): Uint8Array => Uint8Array.from(xs)
const hex = (m: { topic: string, data: Uint8Array }): string => Buffer.from(messageId(m)).toString('hex')

describe('messageId (gossip messages are named by their content: StrictNoSign)', () => {
  it.each([
    { what: 'the same topic and data', a: { topic: 't', data: bytes(1, 2) }, b: { topic: 't', data: bytes(1, 2) }, same: true },
    { what: 'other data', a: { topic: 't', data: bytes(1, 2) }, b: { topic: 't', data: bytes(1, 3) }, same: false },
    { what: 'another topic', a: { topic: 't', data: bytes(1, 2) }, b: { topic: 'u', data: bytes(1, 2) }, same: false },
    { what: 'a byte moved from topic to data', a: { topic: 'ab', data: bytes(0x63) }, b: { topic: 'a', data: bytes(0x62, 0x63) }, same: false }
  ])('$what', ({ a, b, same }) => {
    expect(hex(a) === hex(b)).toBe(same)
  })

  it('is a 32-byte SHA-256', () => {
    expect(messageId({ topic: 't', data: bytes() }).byteLength).toBe(32)
  })
})
