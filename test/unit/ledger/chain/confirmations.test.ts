import { describe, expect, it } from 'vitest'
import { confirmedUpTo, finalityLagMs, NETWORKS, recoverNonce } from '../../../../src/ledger/chain/index.js'

describe('confirmedUpTo', () => {
  const polygon = NETWORKS.polygon.confirmation
  it.each([
    ['local: 1 block = mined', NETWORKS.local.confirmation, { latest: 10, latestTimestamp: 100, finalized: null, finalizedTimestamp: null }, 10, false],
    ['blocks depth 4', { kind: 'blocks', depth: 4 } as const, { latest: 10, latestTimestamp: 100, finalized: null, finalizedTimestamp: null }, 7, false],
    ['polygon: finalized, lag 4 s', polygon, { latest: 1000, latestTimestamp: 5000, finalized: 998, finalizedTimestamp: 4996 }, 998, false],
    ['polygon: lag exactly 60 s is not an alarm', polygon, { latest: 1000, latestTimestamp: 5000, finalized: 970, finalizedTimestamp: 4940 }, 970, false],
    ['polygon: lag 61 s, depth 500 fallback below finalized: finalized', polygon, { latest: 1000, latestTimestamp: 5000, finalized: 950, finalizedTimestamp: 4939 }, 950, true],
    ['polygon: lag 1 h, depth 500 ahead of finalized', polygon, { latest: 5000, latestTimestamp: 10_000, finalized: 3000, finalizedTimestamp: 6400 }, 4501, true],
    ['polygon: node without finalized tag: depth only', polygon, { latest: 5000, latestTimestamp: 10_000, finalized: null, finalizedTimestamp: null }, 4501, true]
  ])('%s', (_n, rule, head, upTo, lagging) => {
    const c = confirmedUpTo(rule, head)
    expect(c.upTo).toBe(upTo)
    expect(c.lagging).toBe(lagging)
  })

  it('lag is measured on block timestamps, in ms', () => {
    expect(finalityLagMs({ latest: 10, latestTimestamp: 130, finalized: 5, finalizedTimestamp: 100 })).toBe(30_000)
    expect(finalityLagMs({ latest: 10, latestTimestamp: 130, finalized: null, finalizedTimestamp: null })).toBe(Number.POSITIVE_INFINITY)
  })
})

describe('recoverNonce', () => {
  it.each([
    ['fresh store, fresh account', undefined, 0, [], 0, [], 'fresh'],
    ['store matches chain', 5, 5, [], 5, [], undefined],
    ['key used elsewhere: chain ahead', 5, 9, [], 9, [], 'chain-ahead'],
    ['held intents above pending: next after them', 8, 5, [5, 6, 7], 8, [], undefined],
    ['a lost nonce between held ones is a gap', 9, 5, [5, 7, 8], 9, [6], undefined],
    ['lost nonces at the bottom are gaps', 9, 5, [8], 9, [5, 6, 7], undefined],
    ['reserved but never signed (killed between): handed out again', 7, 5, [], 5, [], 'unused-reservations'],
    ['held nonces below pending are mined or in the pool: ignored', 6, 6, [3, 4, 5], 6, [], undefined]
  ])('%s', (_n, stored, pending, held, next, gaps, reason) => {
    const r = recoverNonce(stored, pending, held)
    expect(r.next).toBe(next)
    expect(r.gaps).toEqual(gaps)
    expect(r.reason).toBe(reason)
  })
})
