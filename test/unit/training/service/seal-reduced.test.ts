/**
 * Seals through consensus when the creator reduced a round's electorate (round/electorate.ts, a voter lost for good):
 * the bridge proposes the seal to the reduced electorate too, and votes yes there only for the seal its machine approved
 * at an attempt the record covers; a proposal naming what could be a reduced electorate it holds no record of waits.
 */
import { describe, it, expect } from 'vitest'
import type { RoundSeal, SealVote } from '../../../../src/training/protocol/messages.js'
import { MODEL_UPDATE_KIND, sealPayload, type ModelUpdatePayload } from '../../../../src/training/service/seal-kind.js'
import { SealVoting, type RoundAt, type SealProposals } from '../../../../src/training/service/seal-voting.js'

const cid = (c: string): string => `bafyrei${c.repeat(52)}`
const JOB = '2'.repeat(64)
const seal: RoundSeal = {
  type: 'seal',
  jobId: JOB,
  round: 3,
  attempt: 5,
  baseModelCid: cid('b'),
  deltas: [{ cid: cid('c'), peerId: 'p1', samples: 10 }, { cid: cid('d'), peerId: 'p2', samples: 12 }],
  aggregateCid: cid('e'),
  modelHash: 'a'.repeat(64),
  metrics: { loss: 0.5, accuracy: 0.8 }
}
const FULL = ['p1', 'p2', 'p3', 'p4']
const HALF = ['p1', 'p2']
const plain: RoundAt = { round: 3, electorate: FULL, sealTimeoutMs: 1000 }
const reducedFrom = (fromAttempt: number): RoundAt => ({ ...plain, reduced: { fromAttempt, electorate: HALF } })
const vote = (approve: boolean): SealVote => ({ type: 'vote', jobId: JOB, round: 3, attempt: 5, aggregateCid: seal.aggregateCid, approve })
const silent = { debug () {}, info () {}, warn () {}, error () {} } as unknown as ConstructorParameters<typeof SealVoting>[0]['logger']

function bridge (): { v: SealVoting, created: ModelUpdatePayload[], votes: Array<[string, string]>, index: (id: string, p: ModelUpdatePayload) => void } {
  const created: ModelUpdatePayload[] = []
  const votes: Array<[string, string]> = []
  const proposals: SealProposals = {
    create: async req => { created.push(req.payload as ModelUpdatePayload); return { id: `prop${created.length}` } },
    list: () => [],
    vote: async (id, choice) => { votes.push([id, choice]) }
  }
  const v = new SealVoting({ proposals, poke: () => {}, logger: silent })
  const kind = v.kind()
  const index = (id: string, p: ModelUpdatePayload): void => { kind.validate?.(p, { id, proposal: { kind: MODEL_UPDATE_KIND, payload: p, proposer: 'p1', createdAt: 0, expiresAt: 1, snapshot: 0 } }) }
  return { v, created, votes, index }
}

describe('proposing under a reduced electorate', () => {
  it.each([
    ['no record', plain, [FULL]],
    ['a record from this attempt on', reducedFrom(5), [FULL, HALF]],
    ['a record from an earlier attempt on', reducedFrom(4), [FULL, HALF]],
    ['a record from a later attempt on', reducedFrom(6), [FULL]],
    ['a record of another round', { ...reducedFrom(4), round: 2 }, []]
  ] as const)('%s', async (_what, at, electorates) => {
    const b = bridge()
    await b.v.onOwnSeal(seal, { ...at, electorate: [...at.electorate] })
    expect(b.created.map(p => p.electorate)).toEqual(electorates)
  })
})

describe('voting under a reduced electorate', () => {
  const full = sealPayload(seal, FULL)
  const half = sealPayload(seal, HALF)
  const other = sealPayload(seal, ['p3', 'p4'])
  const single = sealPayload(seal, ['p1'])

  it('approves the seal under the full and the reduced electorate; no under a subset that is not the record', async () => {
    const b = bridge()
    for (const [id, p] of [['full', full], ['half', half], ['other', other], ['single', single]] as const) b.index(id, p)
    b.v.noteSeal(seal)
    await b.v.onOwnVote(vote(true), reducedFrom(5))
    expect(b.votes.sort()).toEqual([['full', 'yes'], ['half', 'yes'], ['other', 'no'], ['single', 'no']])
  })

  it('waits on a possible reduced electorate it holds no record of, and says yes once a later step brings it', async () => {
    const b = bridge()
    b.index('half', half)
    b.index('single', single)
    b.v.noteSeal(seal)
    await b.v.onOwnVote(vote(true), plain)
    // {p1, p2} could be the creator's record (half of four); {p1} could not
    expect(b.v.assess(half)).toEqual({ valid: false, pending: true })
    expect(b.v.assess(single)).toEqual({ valid: false })
    expect(b.votes).toEqual([['single', 'no']])
    // the machine's next step holds the record (from attempt 4): our ballot on attempt 5 now names it
    await b.v.onOwnSeal({ ...seal, attempt: 6, aggregateCid: cid('f') }, reducedFrom(4))
    expect(b.v.assess(half)).toEqual({ valid: true })
    // a record from a later attempt than the ballot's does not cover it
    const c = bridge()
    c.index('half', half)
    c.v.noteSeal(seal)
    await c.v.onOwnVote(vote(true), plain)
    c.v.noteReduced(reducedFrom(6))
    expect(c.v.assess(half)).toEqual({ valid: false, pending: true })
  })

  it('a rejection is a no under every electorate', async () => {
    const b = bridge()
    b.index('full', full)
    b.index('half', half)
    b.v.noteSeal(seal)
    await b.v.onOwnVote(vote(false), reducedFrom(5))
    expect(b.votes.sort()).toEqual([['full', 'no'], ['half', 'no']])
  })
})

describe('a node behind on certificates asks consensus to sync', () => {
  const at = (round: number, attempt = 0): RoundSeal => ({ ...seal, round, attempt, aggregateCid: cid(String.fromCharCode(102 + round + attempt)) })
  function watched (): { v: SealVoting, syncs: number[], clock: { t: number }, accept: (s: RoundSeal) => void } {
    const syncs: number[] = []
    const clock = { t: 0 }
    const proposals: SealProposals = {
      create: async () => ({ id: 'x' }),
      list: () => [],
      vote: async () => {},
      catchUp: async () => { syncs.push(clock.t) }
    }
    const v = new SealVoting({ proposals, poke: () => {}, logger: silent, now: () => clock.t })
    let n = 0
    const accept = (s: RoundSeal): void => { const p = sealPayload(s, FULL); v.kind().execute(p, { id: `acc${++n}`, proposal: { kind: MODEL_UPDATE_KIND, payload: p, proposer: 'p1', createdAt: 0, expiresAt: 1, snapshot: 0 } }) }
    return { v, syncs, clock, accept }
  }

  it('a later round\'s seal while a round below has no accepted proposal here: one sync, then at most one per 5 s', () => {
    const w = watched()
    w.v.noteSeal(at(3))
    expect(w.syncs).toEqual([])
    w.v.noteSeal(at(4))
    expect(w.syncs).toEqual([0])
    w.clock.t = 4000
    w.v.noteSeal(at(5))
    expect(w.syncs).toEqual([0])
    w.clock.t = 5000
    w.v.noteSeal(at(5))
    expect(w.syncs).toEqual([0, 5000])
  })

  it('a node whose lower rounds are certified (any attempt) asks for nothing', () => {
    const w = watched()
    w.v.noteSeal(at(3, 0))
    w.v.noteSeal(at(3, 1))
    w.accept(at(3, 1))
    w.v.noteSeal(at(4))
    // another job's seals do not count either
    w.v.noteSeal({ ...at(2), jobId: '3'.repeat(64) })
    w.accept(at(4))
    w.v.noteSeal(at(5))
    expect(w.v.behind(at(4))).toBe(false)
    expect(w.syncs).toEqual([])
  })
})
