import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { VerifiedMajority, type SealBallot, type SealOutcome } from '../../../src/consensus/core/index.js'

const JOB = 'job'
const ballot = (aggregateCid: string, approve: boolean, attempt = 0, round = 0): SealBallot => ({ jobId: JOB, round, attempt, aggregateCid, approve })
const ref = (aggregateCid: string, attempt = 0, round = 0): Omit<SealBallot, 'approve'> => ({ jobId: JOB, round, attempt, aggregateCid })
const FIVE = ['a', 'b', 'c', 'd', 'e']

describe('VerifiedMajority', () => {
  /** [name, votes as [voter, cid, approve], electorate, outcome of seal X] */
  it.each<[string, Array<[string, string, boolean]>, string[], SealOutcome]>([
    ['no votes', [], FIVE, 'pending'],
    ['2 of 5 approve', [['a', 'X', true], ['b', 'X', true]], FIVE, 'pending'],
    ['3 of 5 approve: strict majority', [['a', 'X', true], ['b', 'X', true], ['c', 'X', true]], FIVE, 'accepted'],
    ['2 of 4 approve is not a strict majority', [['a', 'X', true], ['b', 'X', true]], ['a', 'b', 'c', 'd'], 'pending'],
    ['2 of 4 approve, 2 reject: can no longer pass', [['a', 'X', true], ['b', 'X', true], ['c', 'X', false], ['d', 'X', false]], ['a', 'b', 'c', 'd'], 'rejected'],
    ['3 of 5 reject', [['a', 'X', false], ['b', 'X', false], ['c', 'X', false]], FIVE, 'rejected'],
    ['2 of 5 reject: still reachable', [['a', 'X', false], ['b', 'X', false]], FIVE, 'pending'],
    ['votes from outside the electorate do not count', [['a', 'X', true], ['x', 'X', true], ['y', 'X', true]], FIVE, 'pending'],
    ['approving another aggregate in the attempt counts against', [['a', 'Y', true], ['b', 'Y', true], ['c', 'Y', true]], FIVE, 'rejected'],
    ['rejecting another aggregate does not', [['a', 'Y', false], ['b', 'Y', false], ['c', 'Y', false]], FIVE, 'pending'],
    ['an equivocator counts against', [['a', 'X', true], ['a', 'Y', true], ['b', 'X', false], ['c', 'X', false]], FIVE, 'rejected'],
    ['an equivocator does not count for', [['a', 'X', true], ['b', 'X', true], ['c', 'X', true], ['c', 'X', false]], FIVE, 'pending'],
    ['a single voter decides alone', [['a', 'X', true]], ['a'], 'accepted'],
    ['an empty electorate never decides', [['a', 'X', true]], [], 'pending'],
    ['duplicate electorate entries count once', [['a', 'X', true], ['b', 'X', true]], ['a', 'a', 'b', 'c', 'd'], 'pending']
  ])('%s', (_name, votes, electorate, want) => {
    const acc = new VerifiedMajority()
    for (const [from, cid, approve] of votes) acc.onVote(ballot(cid, approve), from)
    expect(acc.outcome(ref('X'), electorate)).toBe(want)
  })

  it('keeps attempts and rounds apart', () => {
    const acc = new VerifiedMajority()
    for (const v of ['a', 'b', 'c']) acc.onVote(ballot('X', true, 1), v)
    expect(acc.outcome(ref('X', 0), FIVE)).toBe('pending')
    expect(acc.outcome(ref('X', 1), FIVE)).toBe('accepted')
    expect(acc.outcome(ref('X', 1, 1), FIVE)).toBe('pending')
    expect(acc.outcome({ ...ref('X', 1), jobId: 'other' }, FIVE)).toBe('pending')
  })

  it('reports duplicates and each kind of equivocation', () => {
    const acc = new VerifiedMajority()
    expect(acc.onVote(ballot('X', true), 'a')).toEqual({ kind: 'counted' })
    expect(acc.onVote(ballot('X', true), 'a')).toEqual({ kind: 'duplicate' })
    expect(acc.onVote(ballot('Y', false), 'a')).toEqual({ kind: 'counted' })
    expect(acc.onVote(ballot('Y', true), 'a')).toMatchObject({ kind: 'equivocation', voter: 'a', first: { aggregateCid: 'Y', approve: false }, second: { aggregateCid: 'Y', approve: true } })
    expect(acc.onVote(ballot('Z', true), 'a')).toEqual({ kind: 'duplicate' }) // already an equivocator here
    expect(acc.onVote(ballot('X', true), 'b')).toEqual({ kind: 'counted' })
    expect(acc.onVote(ballot('Z', true), 'b')).toMatchObject({ kind: 'equivocation', first: { aggregateCid: 'X', approve: true }, second: { aggregateCid: 'Z' } })
    // the same voter approving another aggregate in ANOTHER attempt is legitimate (after a rejection)
    expect(acc.onVote(ballot('Z', true, 1), 'c')).toEqual({ kind: 'counted' })
    expect(acc.onVote(ballot('X', true, 0), 'c')).toEqual({ kind: 'counted' })
  })

  it('drops votes beyond its capacity', () => {
    const acc = new VerifiedMajority({ maxVotes: 2 })
    acc.onVote(ballot('X', true), 'a')
    acc.onVote(ballot('X', true), 'b')
    expect(acc.onVote(ballot('X', true), 'c')).toEqual({ kind: 'dropped' })
    acc.prune(JOB, 1)
    expect(acc.onVote(ballot('X', true, 0, 1), 'c')).toEqual({ kind: 'counted' })
  })

  it('prunes rounds below a bound for one job only', () => {
    const acc = new VerifiedMajority()
    acc.onVote(ballot('X', true, 0, 0), 'a')
    acc.onVote(ballot('X', true, 0, 1), 'a')
    acc.onVote({ ...ballot('X', true), jobId: 'other' }, 'a')
    acc.prune(JOB, 1)
    expect(acc.snapshot().votes.map(v => [v.vote.jobId, v.vote.round])).toEqual([[JOB, 1], ['other', 0]])
  })

  it('survives a JSON snapshot round trip, equivocations included', () => {
    const acc = new VerifiedMajority()
    acc.onVote(ballot('X', true), 'a')
    acc.onVote(ballot('X', true), 'b')
    acc.onVote(ballot('Y', true), 'b')
    acc.onVote(ballot('X', false), 'c')
    const copy = new VerifiedMajority()
    copy.restore(JSON.parse(JSON.stringify(acc.snapshot())))
    expect(copy.snapshot()).toEqual(acc.snapshot())
    for (const cid of ['X', 'Y']) expect(copy.outcome(ref(cid), FIVE)).toBe(acc.outcome(ref(cid), FIVE))
    expect(copy.onVote(ballot('Z', true), 'b')).toEqual({ kind: 'duplicate' })
  })

  it('property: honest voters (one approval per round) never get two aggregates accepted, and outcomes are monotone', () => {
    const voterArb = fc.integer({ min: 1, max: 9 })
    fc.assert(fc.property(voterArb, fc.array(fc.tuple(fc.nat(8), fc.nat(2), fc.nat(2), fc.boolean()), { maxLength: 60 }), (n, raw) => {
      const electorate = Array.from({ length: n }, (_, i) => `v${i}`)
      const acc = new VerifiedMajority()
      const approvedIn = new Map<string, string>() // honest: the one aggregate a voter approves this round
      const voted = new Set<string>() // honest: one vote per seal
      const seen: Map<string, SealOutcome> = new Map()
      for (const [v, attempt, c, approveWish] of raw) {
        const voter = `v${v % (n + 1)}` // sometimes outside the electorate
        const cid = `c${c}`
        if (voted.has(`${voter}/${attempt}/${cid}`)) continue
        voted.add(`${voter}/${attempt}/${cid}`)
        const approve = approveWish && (approvedIn.get(voter) ?? cid) === cid
        if (approve) approvedIn.set(voter, cid)
        acc.onVote(ballot(cid, approve, attempt), voter)
        const accepted = new Set<string>()
        for (let a = 0; a < 3; a++) {
          for (let k = 0; k < 3; k++) {
            const key = `${a}/${k}`
            const o = acc.outcome(ref(`c${k}`, a), electorate)
            const before = seen.get(key)
            if (before === 'accepted' || before === 'rejected') expect(o).toBe(before)
            seen.set(key, o)
            if (o === 'accepted') accepted.add(`c${k}`)
          }
        }
        expect(accepted.size).toBeLessThanOrEqual(1)
      }
    }), { numRuns: 300 })
  })
})
