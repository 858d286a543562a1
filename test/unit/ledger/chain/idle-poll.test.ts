import { describe, expect, it } from 'vitest'
import { headUnchanged, idlePollDelay } from '../../../../src/ledger/chain/core/idle-poll.js'

describe('headUnchanged', () => {
  const at = { number: 7, hash: '0xAB' }
  it.each([
    ['nothing caught up yet', undefined, at, false],
    ['no head read', at, undefined, false],
    ['same block (hash case ignored)', at, { number: 7, hash: '0xab' }, true],
    ['a new block', at, { number: 8, hash: '0xcd' }, false],
    ['same height, another hash (a reorg)', at, { number: 7, hash: '0xef' }, false],
    ['a shorter chain (a reorg)', at, { number: 6, hash: '0x01' }, false]
  ])('%s', (_n, caughtUp, head, expected) => {
    expect(headUnchanged(caughtUp, head)).toBe(expected)
  })
})

describe('idlePollDelay', () => {
  it.each([
    ['a pass that found something: pollMs', 0, 500, 2000, 500],
    ['one quiet pass: doubled', 1, 500, 2000, 1000],
    ['two quiet passes', 2, 500, 2000, 2000],
    ['capped at maxIdleMs', 3, 500, 2000, 2000],
    ['many quiet passes stay at the cap', 10_000, 500, 2000, 2000],
    ['a cap under pollMs never shortens the pause', 5, 1000, 10, 1000],
    ['negative counts read as none', -1, 1000, 4000, 1000]
  ])('%s', (_n, quiet, pollMs, maxIdleMs, expected) => {
    expect(idlePollDelay(quiet, pollMs, maxIdleMs)).toBe(expected)
  })
})
