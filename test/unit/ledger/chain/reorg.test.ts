import { describe, expect, it } from 'vitest'
import { findForkPoint, trimBlockWindow, type BlockRef } from '../../../../src/ledger/chain/index.js'

const refs = (from: number, to: number, tag = 'a'): BlockRef[] => Array.from({ length: to - from + 1 }, (_, i) => ({ number: from + i, hash: `0x${tag}${from + i}` }))
const chainOf = (...parts: BlockRef[][]): Map<number, string> => new Map(parts.flat().map(b => [b.number, b.hash]))

describe('findForkPoint', () => {
  it.each([
    ['empty window', [], chainOf(refs(1, 5)), { kind: 'none' }],
    ['no reorg', refs(10, 20), chainOf(refs(1, 25)), { kind: 'none' }],
    ['depth 3 reorg: roll back from 18', refs(10, 20), chainOf(refs(1, 17), refs(18, 22, 'b')), { kind: 'fork', from: 18 }],
    ['depth 1 reorg', refs(10, 20), chainOf(refs(1, 19), refs(20, 20, 'b')), { kind: 'fork', from: 20 }],
    ['chain got shorter (the new branch is not longer yet)', refs(10, 20), chainOf(refs(1, 17)), { kind: 'fork', from: 18 }],
    ['reorg deeper than the window', refs(10, 20), chainOf(refs(1, 9), refs(10, 22, 'b')), { kind: 'deep', from: 10 }],
    ['hash compare ignores case', [{ number: 5, hash: '0xABC' }], new Map([[5, '0xabc']]), { kind: 'none' }]
  ])('%s', (_n, kept, chain, expected) => {
    expect(findForkPoint(kept, chain)).toEqual(expected)
  })

  it('rolls back exactly the blocks whose hash changed, for every depth inside the window', () => {
    const kept = refs(100, 163)
    for (let depth = 1; depth <= 64; depth++) {
      const chain = chainOf(refs(1, 163 - depth), refs(164 - depth, 170, 'z'))
      const fork = findForkPoint(kept, chain)
      expect(fork).toEqual(depth === 64 ? { kind: 'deep', from: 100 } : { kind: 'fork', from: 164 - depth })
    }
  })
})

describe('trimBlockWindow', () => {
  it.each([
    ['appends and keeps the newest', refs(1, 5), refs(6, 8), 4, refs(5, 8)],
    ['replaces a re-indexed number', refs(1, 5), refs(5, 6, 'b'), 10, [...refs(1, 4), ...refs(5, 6, 'b')]],
    ['empty start', [], refs(1, 3), 2, refs(2, 3)]
  ])('%s', (_n, kept, added, keep, expected) => {
    expect(trimBlockWindow(kept, added, keep)).toEqual(expected)
  })
})
