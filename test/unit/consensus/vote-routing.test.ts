/** Table tests of votes straight to the proposer: what becomes of a held vote, and which QC votes a node holds. */
import { describe, it, expect } from 'vitest'
import { heldVoteFate, type HeldVoteState } from '../../../src/consensus/service/vote-routing.js'
import { heldYesVoters, newEntry, type Entry } from '../../../src/consensus/service/entry.js'
import { ManualClock } from '../../../src/common/clock.js'
import { ReplayGuard } from '../../../src/protocols/replay.js'

const FALLBACK = 3000

describe('heldVoteFate', () => {
  const s = (ageMs: number, open: boolean, privatelyCounted: boolean): HeldVoteState => ({ ageMs, open, privatelyCounted })
  it.each<[string, HeldVoteState | undefined, ReturnType<typeof heldVoteFate>]>([
    ['proposal no longer known here', undefined, 'drop'],
    ['open, inside the delay', s(100, true, false), 'wait'],
    ['open past the delay: the proposer may be gone', s(3000, true, false), 'publish'],
    ['closed inside the delay: the proposer\'s QC may still come', s(2999, false, true), 'wait'],
    ['counted only by this node\'s own QC', s(5000, false, true), 'publish'],
    ['in the proposer\'s QC (or closed without it)', s(5000, false, false), 'drop']
  ])('%s', (_, state, want) => {
    expect(heldVoteFate(state, FALLBACK)).toBe(want)
  })
})

describe('heldYesVoters', () => {
  const entry = (): Entry => {
    const e = newEntry('p', new Uint8Array([0]), { kind: 'network-param', payload: { name: 'a', value: 1 }, proposer: 'a', createdAt: 0, expiresAt: 1000, snapshot: 0 })
    e.votes.set('b', [{ voter: 'b', choice: 'yes', seq: 10, bytes: Uint8Array.of(2) }])
    e.votes.set('a', [{ voter: 'a', choice: 'yes', seq: 11, bytes: Uint8Array.of(1) }])
    e.votes.set('c', [{ voter: 'c', choice: 'no', seq: 12, bytes: Uint8Array.of(3) }])
    e.votes.set('d', [{ voter: 'd', choice: 'yes', seq: 2000, bytes: Uint8Array.of(4) }])
    return e
  }
  it.each<[string, Uint8Array[], string[] | undefined]>([
    ['held yes votes: their voters, sorted', [Uint8Array.of(2), Uint8Array.of(1)], ['a', 'b']],
    ['one vote twice: one voter', [Uint8Array.of(1), Uint8Array.of(1)], ['a']],
    ['a vote not held here', [Uint8Array.of(1), Uint8Array.of(9)], undefined],
    ['a no vote', [Uint8Array.of(1), Uint8Array.of(3)], undefined],
    ['a yes signed after expiry', [Uint8Array.of(4)], undefined]
  ])('%s', (_, votes, want) => {
    expect(heldYesVoters(entry(), votes)).toEqual(want)
  })
})

describe('ReplayGuard.fresh', () => {
  it('checks age and skew without remembering the record', () => {
    const clock = new ManualClock(10_000)
    const guard = new ReplayGuard(clock, { maxAgeMs: 1000, maxSkewMs: 100 })
    expect(() => guard.fresh(8_999)).toThrow(/older/)
    expect(() => guard.fresh(10_101)).toThrow(/future/)
    guard.fresh(9_500)
    guard.fresh(9_500)
    guard.check('a', 'd', 9_500)
    expect(() => { guard.check('a', 'd', 9_500) }).toThrow(/already seen/)
  })
})
