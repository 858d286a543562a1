import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { formatFtns, parseFtns, FTNS_AMOUNT_PATTERN } from '../../../src/ledger/amounts.js'

const E18 = 10n ** 18n

describe('FTNS amounts', () => {
  it.each([
    ['0', 0n],
    ['1', E18],
    ['12.5', 12n * E18 + 5n * 10n ** 17n],
    ['0.000000000000000001', 1n],
    ['007.10', 7n * E18 + 10n ** 17n],
    ['1000000000', 10n ** 9n * E18],
    [' 3 ', 3n * E18],
    ['123456789012345678901234567890.123456789012345678', 123456789012345678901234567890n * E18 + 123456789012345678n]
  ])('parses %j to %s wei', (s, wei) => {
    expect(parseFtns(s)).toBe(wei)
  })

  it.each([
    ['-1', 'must not be negative'],
    ['-0.5', 'must not be negative'],
    ['1.0000000000000000001', 'too many decimals: FTNS has 18, got 19'],
    ['abc', 'is not a number'],
    ['', 'is not a number'],
    ['1e18', 'is not a number'],
    ['0x10', 'is not a number'],
    ['1.', 'is not a number'],
    ['.5', 'is not a number'],
    ['1,5', 'is not a number'],
    ['NaN', 'is not a number'],
    ['Infinity', 'is not a number'],
    ['+1', 'is not a number'],
    ['1 000', 'is not a number'],
    ['1234567890123456789012345678901', 'too large'],
    [12.5, 'the number 12.5 (send it as a string'],
    [null, 'must be a decimal string'],
    [undefined, 'got nothing']
  ])('refuses %j with a clear ERR_AMOUNT (%s)', (s, message) => {
    let err: unknown
    try { parseFtns(s) } catch (e) { err = e }
    expect(err).toMatchObject({ code: 'ERR_AMOUNT', kind: 'invalid' })
    expect((err as Error).message).toContain(message)
  })

  it('refuses zero only when a positive amount is asked for, naming the field', () => {
    expect(parseFtns('0.0')).toBe(0n)
    expect(() => parseFtns('0.0', { positive: true, name: 'deposit amount' })).toThrow('deposit amount must be greater than zero')
  })

  it.each([
    [0n, '0'],
    [1n, '0.000000000000000001'],
    [E18, '1'],
    [12n * E18 + 5n * 10n ** 17n, '12.5'],
    [-(3n * E18 + 1n), '-3.000000000000000001'],
    [10n ** 27n, '1000000000']
  ])('formats %s wei as %j', (wei, s) => {
    expect(formatFtns(wei)).toBe(s)
  })

  it('round-trips every non-negative wei amount exactly, and the schema pattern admits what the parser accepts', () => {
    const pattern = new RegExp(FTNS_AMOUNT_PATTERN)
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 48n - 1n }), wei => {
      const s = formatFtns(wei)
      expect(pattern.test(s)).toBe(true)
      expect(parseFtns(s)).toBe(wei)
    }), { numRuns: 500 })
  })
})
