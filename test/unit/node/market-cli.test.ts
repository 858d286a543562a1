/** The market CLI's price conversions and depth table (pure helpers). */
import { describe, expect, it } from 'vitest'
import { depthTable, fromUnits, toUnits } from '../../../src/node/cli/commands/market.js'
import type { BookView } from '../../../src/ledger/market/service/views.js'

describe('market CLI helpers', () => {
  it.each([
    ['2.5', 6, '2500000'], ['0', 6, '0'], ['1', 18, '1000000000000000000'], ['0.000001', 6, '1'], ['12', 0, '12'], ['007.10', 2, '710']
  ])('toUnits(%s, %i) = %s and back', (text, decimals, units) => {
    expect(toUnits(text, decimals)).toBe(units)
    expect(toUnits(fromUnits(units, decimals), decimals)).toBe(units)
  })

  it.each([['1.0000001', 6], ['-1', 6], ['1e3', 6], ['', 6], ['1.', 6], ['abc', 18], ['0.5', 0]])('refuses %j with %i decimals', (text, decimals) => {
    expect(() => toUnits(text, decimals)).toThrow(/is not a decimal/)
  })

  it.each([['2500000', 6, '2.5'], ['1', 6, '0.000001'], ['-500', 3, '-0.5'], ['10', 0, '10'], [null, 6, '-']])('fromUnits(%s, %i) = %s', (units, decimals, text) => {
    expect(fromUnits(units, decimals)).toBe(text)
  })

  it('prints asks dearest first above the spread, bids best first below, in the price unit', () => {
    const lvl = (price: string, units: string, cumulative: string): BookView['depth']['asks'][number] => ({ price, units, orders: 1, cumulative })
    const out = depthTable({
      market: 'ftns-tusd', resourceClass: null, bids: [], asks: [], bestBid: '1900000', bestAsk: '2000000', spread: '100000',
      depth: { asks: [lvl('2000000', '3', '3'), lvl('2500000', '1', '4')], bids: [lvl('1900000', '2', '2'), lvl('1000000', '5', '7')] }
    }, 6)
    const lines = out.split('\n')
    expect(lines[0]).toBe('ftns-tusd: best bid 1.9, best ask 2')
    const sides = lines.slice(3).map(l => l.trim().split(/\s+/).slice(0, 2).join(' '))
    expect(sides).toEqual(['ask 2.5', 'ask 2', '--- spread', 'bid 1.9', 'bid 1'])
  })
})
