import { describe, expect, it } from 'vitest'
import { tokenChecker } from '../../../src/node/api/auth.js'

describe('tokenChecker', () => {
  const token = 'a'.repeat(32) + 'b'.repeat(32)
  const ok = tokenChecker(token)
  it.each([
    ['the token itself', token, true],
    ['empty', '', false],
    ['a prefix', token.slice(0, 63), false],
    ['one character longer', token + 'c', false],
    ['same length, last character differs', token.slice(0, 63) + 'c', false],
    ['same length, first character differs', 'c' + token.slice(1), false],
    // same number of UTF-16 units, more bytes: must not reach timingSafeEqual with unequal lengths (it throws)
    ['same length with a multibyte character', 'é' + token.slice(1), false]
  ])('%s -> %s', (_what, presented, expected) => {
    expect(ok(presented)).toBe(expected)
  })

  it('an empty expected token matches nothing', () => {
    expect(tokenChecker('')('')).toBe(false)
    expect(tokenChecker('')('x')).toBe(false)
  })
})
