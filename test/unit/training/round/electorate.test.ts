/**
 * Issue 11: a voter lost for good must not stall a job. The creator's `electorate` record (round/electorate.ts): when
 * it is signed, which records count, which quorums they add, and that the Paxos promise rule still carries a lock.
 */
import { describe, it, expect } from 'vitest'
import { Driver, M0, cid, jobWith, only, published, sealOf, voteMsg } from './driver.js'
import type { ElectorateChange, JobSpec, RoundSeal } from '../../../../src/training/protocol/index.js'
import type { JobAction } from '../../../../src/training/round/index.js'

const promise = (job: JobSpec, attempt: number): { type: 'promise', jobId: string, round: number, attempt: number } => ({ type: 'promise', jobId: job.id, round: 0, attempt })
const record = (job: JobSpec, electorate: string[], fromAttempt: number): ElectorateChange => ({ type: 'electorate', jobId: job.id, round: 0, fromAttempt, electorate })

/** The creator p0 with p1 in a two-voter round 0 where both delivered; `lock`: p0 approved aggregate V at attempt 0. */
function creatorOfTwo (lock: boolean): { d: Driver, job: JobSpec, out: JobAction[], v: string } {
  const job = jobWith({ minParticipants: 2 })
  const d = new Driver('p0', job)
  d.setup(true, ['p0', 'p1'])
  const out = d.deltas(['p0', 'p1'])
  expect(d.m.view().phase).toBe('sealing')
  expect(d.m.aggregatorFor(0, 0)).toBe('p0')
  const v = cid('V')
  if (lock) {
    const req = only(out, 'aggregate')[0]
    out.push(...d.send({ kind: 'aggregate-computed', round: 0, attempt: 0, aggregateCid: v, modelHash: 'ee'.repeat(32), deltas: req.deltas.map(x => x.cid) }))
    expect(published(out, 'seal')[0].aggregateCid).toBe(v)
  }
  return { d, job, out, v }
}

/** Tick attempt by attempt (p1 silent), answering p0's own aggregate requests at attempts >= `from`. */
function runSilent (d: Driver, out: JobAction[], attempts: number, from = 1): void {
  for (let i = 0; i < attempts && !out.some(a => a.kind === 'model-accepted'); i++) {
    const step = d.tick(3000)
    out.push(...step)
    for (const req of only(step, 'aggregate').filter(a => a.attempt >= from)) {
      out.push(...d.send({ kind: 'aggregate-computed', round: 0, attempt: req.attempt, aggregateCid: cid(`fresh/${req.attempt}`), modelHash: 'ff'.repeat(32), deltas: req.deltas.map(x => x.cid) }))
    }
  }
}

describe('the creator names the live half of a stalled electorate', () => {
  it('signs one record after STALL_ATTEMPTS attempts and then seals the round alone (no lock: a fresh aggregate)', () => {
    const { d, out } = creatorOfTwo(false)
    runSilent(d, out, 12)
    const recs = published(out, 'electorate')
    expect(recs).toHaveLength(1)
    expect(recs[0]).toMatchObject({ round: 0, fromAttempt: 4, electorate: ['p0'] })
    const accepted = only(out, 'model-accepted')
    expect(accepted).toHaveLength(1)
    // sealed at an attempt of p0's in the unchanged rotation, at or after the record's attempt
    expect(accepted[0].seal.attempt).toBeGreaterThanOrEqual(4)
    expect(d.m.aggregatorFor(0, accepted[0].seal.attempt) ?? 'p0').toBe('p0')
    expect(d.m.view().round).toBe(1)
  })

  it('keeps the promise rule: the aggregate it approved (p1 may have accepted it) is re-proposed, not replaced', () => {
    const { d, out, v } = creatorOfTwo(true)
    runSilent(d, out, 12)
    const accepted = only(out, 'model-accepted')
    expect(accepted).toHaveLength(1)
    expect(accepted[0].modelCid).toBe(v)
    expect(accepted[0].seal.attempt).toBeGreaterThanOrEqual(4)
    expect(only(out, 'aggregate').filter(a => a.attempt > 0)).toHaveLength(0)
  })

  it.each([
    ['a majority still answers (1 of 3 silent)', ['p0', 'p1', 'p2'], ['p1']],
    ['less than half answers (3 of 4 silent)', ['p0', 'p1', 'p2', 'p3'], []]
  ])('signs nothing when %s', (_what, peers, answering) => {
    const job = jobWith({ minParticipants: 2 })
    const d = new Driver('p0', job)
    d.setup(true, peers)
    const out = d.deltas(peers)
    for (let a = 1; a <= 10; a++) {
      out.push(...d.tick(3000))
      for (const p of answering) out.push(...d.msg(p, promise(job, d.m.view().attempt)))
    }
    expect(d.m.view().attempt).toBeGreaterThanOrEqual(8)
    expect(published(out, 'electorate')).toHaveLength(0)
  })

  it('a node that is not the creator never signs one', () => {
    const job = jobWith({ minParticipants: 2, creator: 'p9' })
    const d = new Driver('p0', job)
    d.setup(true, ['p0', 'p1'])
    const out = d.deltas(['p0', 'p1'])
    runSilent(d, out, 10)
    expect(published(out, 'electorate')).toHaveLength(0)
    expect(only(out, 'model-accepted')).toHaveLength(0)
  })
})

/**
 * p1 in a round-0 electorate of four (p0 the creator): at attempt `at` the rotation's aggregator seals S and p1 and
 * p2 approve it. Whether S is accepted depends on the record received first.
 */
function fourVoters (rec: { from: string, electorate: string[], fromAttempt: number } | null, extra?: { from: string, electorate: string[], fromAttempt: number }): { accepted: boolean, seal: RoundSeal } {
  const job = jobWith({ minParticipants: 2 })
  const d = new Driver('p1', job)
  const peers = ['p0', 'p1', 'p2', 'p3']
  d.setup(true, peers)
  d.deltas(peers)
  if (rec != null) d.msg(rec.from, record(job, rec.electorate, rec.fromAttempt))
  if (extra != null) d.msg(extra.from, record(job, extra.electorate, extra.fromAttempt))
  const at = 6 // aggregator p2 ((0 + 6) % 4), not us
  expect(d.m.aggregatorFor(0, at)).toBe('p2')
  while (d.m.view().attempt < at) d.tick(3000)
  const seal = sealOf(job, peers, { attempt: at, aggregateCid: cid('S6'), baseModelCid: M0 })
  const out = d.msg('p2', seal)
  expect(only(out, 'verify')).toHaveLength(1)
  out.push(...d.send({ kind: 'seal-verified', round: 0, attempt: at, aggregateCid: seal.aggregateCid, ok: true }))
  out.push(...d.msg('p2', voteMsg(seal, true)))
  return { accepted: only(out, 'model-accepted').length === 1, seal }
}

describe('which records count, and the quorum they add', () => {
  it.each([
    ['no record: 2 of 4 is no majority', null, undefined, false],
    ['the creator names p1 and p2 from attempt 5', { from: 'p0', electorate: ['p1', 'p2'], fromAttempt: 5 }, undefined, true],
    ['... from attempt 6 (the seal\'s own)', { from: 'p0', electorate: ['p1', 'p2'], fromAttempt: 6 }, undefined, true],
    ['... from attempt 7: not yet', { from: 'p0', electorate: ['p1', 'p2'], fromAttempt: 7 }, undefined, false],
    ['signed by another member', { from: 'p3', electorate: ['p1', 'p2'], fromAttempt: 5 }, undefined, false],
    ['less than half of the electorate', { from: 'p0', electorate: ['p2'], fromAttempt: 5 }, undefined, false],
    ['a name outside the electorate', { from: 'p0', electorate: ['p2', 'p9'], fromAttempt: 5 }, undefined, false],
    ['a reduced electorate p2 did not complete (p3 silent)', { from: 'p0', electorate: ['p1', 'p2', 'p3'], fromAttempt: 5 }, undefined, false],
    ['the first record of a round wins over a second', { from: 'p0', electorate: ['p1', 'p2'], fromAttempt: 5 }, { from: 'p0', electorate: ['p0', 'p3'], fromAttempt: 5 }, true],
    ['a second record cannot replace the first', { from: 'p0', electorate: ['p0', 'p3'], fromAttempt: 5 }, { from: 'p0', electorate: ['p1', 'p2'], fromAttempt: 5 }, false]
  ] as const)('%s', (_what, rec, extra, accepted) => {
    const r = fourVoters(rec == null ? null : { ...rec, electorate: [...rec.electorate] }, extra == null ? undefined : { ...extra, electorate: [...extra.electorate] })
    expect(r.accepted).toBe(accepted)
  })

  it('a reduced electorate also counts as a quorum of promises for the aggregator (p0 alone, from the record on)', () => {
    const { d, out } = creatorOfTwo(false)
    // before the record, p0's own promise is no quorum: it asks for no aggregate at its attempt 2
    while (d.m.view().attempt < 4) out.push(...d.tick(3000))
    expect(only(out, 'aggregate').filter(a => a.attempt === 2)).toHaveLength(0)
    expect(published(out, 'electorate')).toMatchObject([{ fromAttempt: 4, electorate: ['p0'] }])
    expect(only(out, 'aggregate').filter(a => a.attempt === 4)).toHaveLength(1)
  })
})

describe('the promise rule with reduced electorates: which reported locks an aggregator may drop', () => {
  it('keeps a lock that exactly half of an even electorate rejected (the other half may be the reduced electorate that accepted it)', () => {
    const job = jobWith({ minParticipants: 2, creator: 'p9' })
    const d = new Driver('p0', job)
    d.setup(true, ['p0', 'p1'])
    const out = d.deltas(['p0', 'p1'])
    const req = only(out, 'aggregate')[0]
    const v = cid('V')
    const sealed = published(d.send({ kind: 'aggregate-computed', round: 0, attempt: 0, aggregateCid: v, modelHash: 'ee'.repeat(32), deltas: req.deltas.map(x => x.cid) }), 'seal')[0]
    d.msg('p1', voteMsg(sealed, false))
    const later: JobAction[] = []
    while (d.m.view().attempt < 2) later.push(...d.tick(3000))
    later.push(...d.msg('p1', promise(job, 2)))
    // p0 reports V (approved by p0, rejected by p1): re-proposed at attempt 2, not replaced by a fresh aggregate
    expect(only(later, 'aggregate')).toHaveLength(0)
    expect(published(later, 'seal')).toMatchObject([{ attempt: 2, aggregateCid: v }])
  })

  it('drops a lock a strict majority rejected', () => {
    const job = jobWith({ minParticipants: 2, creator: 'p9' })
    const d = new Driver('p0', job)
    d.setup(true, ['p0', 'p1', 'p2'])
    const out = d.deltas(['p0', 'p1', 'p2'])
    const req = only(out, 'aggregate')[0]
    const sealed = published(d.send({ kind: 'aggregate-computed', round: 0, attempt: 0, aggregateCid: cid('V'), modelHash: 'ee'.repeat(32), deltas: req.deltas.map(x => x.cid) }), 'seal')[0]
    d.msg('p1', voteMsg(sealed, false))
    d.msg('p2', voteMsg(sealed, false))
    const later: JobAction[] = []
    while (d.m.view().attempt < 3) later.push(...d.tick(3000))
    expect(d.m.aggregatorFor(0, 3)).toBe('p0')
    later.push(...d.msg('p1', promise(job, 3)))
    expect(only(later, 'aggregate').filter(a => a.attempt === 3)).toHaveLength(1)
  })
})
