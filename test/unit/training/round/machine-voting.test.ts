import { describe, it, expect } from 'vitest'
import { Driver, JOB, M0, PEERS, T0, cid, dcid, deltaMsg, jobWith, only, published, sealOf, voteMsg } from './driver.js'

describe('JobMachine: verifying and voting', () => {
  function closed (self = 'p1'): Driver {
    const d = new Driver(self)
    d.setup()
    d.deltas(PEERS)
    return d
  }

  it('verifies a seal from the rotation\'s aggregator and approves it when it recomputes', () => {
    const d = closed()
    const seal = sealOf(JOB, PEERS)
    expect(d.msg('p0', seal)).toEqual([{ kind: 'verify', seal }])
    const out = d.send({ kind: 'seal-verified', round: 0, attempt: 0, aggregateCid: seal.aggregateCid, ok: true })
    expect(out).toEqual([{ kind: 'publish', msg: voteMsg(seal, true) }])
    expect(d.m.snapshot().state.lock).toEqual({ round: 0, attempt: 0, aggregateCid: seal.aggregateCid })
  })

  it('rejects a seal that does not recompute and penalises its aggregator', () => {
    const d = closed()
    const seal = sealOf(JOB, PEERS)
    d.msg('p0', seal)
    const out = d.send({ kind: 'seal-verified', round: 0, attempt: 0, aggregateCid: seal.aggregateCid, ok: false, reason: 'mismatch' })
    expect(out).toEqual([
      { kind: 'penalise', peerId: 'p0', reason: 'bad-seal', round: 0 },
      { kind: 'publish', msg: { ...voteMsg(seal, false), reason: 'mismatch' } }
    ])
  })

  it('does not blame the aggregator when verification failed on our side', () => {
    const d = closed()
    const seal = sealOf(JOB, PEERS)
    d.msg('p0', seal)
    const out = d.send({ kind: 'seal-verified', round: 0, attempt: 0, aggregateCid: seal.aggregateCid, ok: false, reason: 'unavailable' })
    expect(only(out, 'penalise')).toEqual([])
    expect(published(out, 'vote')).toMatchObject([{ approve: false }])
  })

  it('ignores seals from peers out of rotation, or too many attempts ahead', () => {
    const d = closed()
    expect(d.msg('p3', sealOf(JOB, PEERS))).toEqual([])
    expect(d.msg('p3', sealOf(JOB, PEERS, { attempt: 3 }))).toEqual([]) // p3 seals attempt 3; we are at 0
    expect(d.msg('p0', sealOf(JOB, PEERS, { baseModelCid: cid('fork') }))).toEqual([])
  })

  it('waits for listed deltas it has not seen, then verifies', () => {
    const d = new Driver('p1')
    d.setup()
    d.deltas(['p0', 'p1', 'p2'])
    const seal = sealOf(JOB, ['p0', 'p1', 'p4'])
    expect(d.msg('p0', seal)).toEqual([])
    expect(d.msg('p4', deltaMsg(JOB, 'p4'))).toEqual([{ kind: 'verify', seal }])
  })

  it.each<[string, (d: Driver) => ReturnType<typeof sealOf>, string, boolean]>([
    ['too few deltas', () => sealOf(JOB, ['p0', 'p1']), 'too-few-deltas', true],
    ['wrong metrics', () => sealOf(JOB, PEERS, { metrics: { loss: 0.5, accuracy: 0.99 } }), 'metrics', true],
    ['samples that differ from the announcement', () => {
      const s = sealOf(JOB, PEERS)
      s.deltas[2] = { ...s.deltas[2], samples: 1000 }
      return s
    }, 'delta-mismatch', true],
    ['a delta we found invalid (not the aggregator\'s fault)', d => {
      d.send({ kind: 'delta-invalid', round: 0, cid: dcid('p4'), peerId: 'p4', reason: 'NaN' })
      return sealOf(JOB, PEERS)
    }, 'invalid-delta', false]
  ])('votes against a seal with %s', (_name, build, reason, blame) => {
    const d = closed()
    const seal = build(d)
    const out = d.msg('p0', seal)
    expect(only(out, 'verify')).toEqual([])
    expect(published(out, 'vote')).toEqual([{ ...voteMsg(seal, false), reason }])
    expect(only(out, 'penalise').filter(p => p.peerId === 'p0')).toEqual(blame ? [{ kind: 'penalise', peerId: 'p0', reason: 'bad-seal', round: 0 }] : [])
  })

  it('votes against a seal listing an equivocator', () => {
    const d = new Driver('p1')
    d.setup()
    d.deltas(['p0', 'p1', 'p2', 'p3'])
    d.msg('p4', deltaMsg(JOB, 'p4'))
    d.msg('p4', deltaMsg(JOB, 'p4', 0, M0, { cid: dcid('p4', 0, 'b') }))
    const seal = sealOf(JOB, PEERS)
    expect(published(d.msg('p0', seal), 'vote')).toEqual([{ ...voteMsg(seal, false), reason: 'equivocator' }])
  })

  it('penalises an aggregator that sends two seals for one attempt and rejects both', () => {
    const d = closed()
    const a = sealOf(JOB, PEERS)
    const b = sealOf(JOB, PEERS, { aggregateCid: cid('other') })
    expect(only(d.msg('p0', a), 'verify')).toHaveLength(1)
    const out = d.msg('p0', b)
    expect(only(out, 'penalise')).toEqual([{ kind: 'penalise', peerId: 'p0', reason: 'equivocation-seal', round: 0 }])
    expect(published(out, 'vote')).toEqual([{ ...voteMsg(a, false), reason: 'equivocation' }, { ...voteMsg(b, false), reason: 'equivocation' }])
    expect(d.send({ kind: 'seal-verified', round: 0, attempt: 0, aggregateCid: a.aggregateCid, ok: true })).toEqual([])
  })

  it('penalises a voter that equivocates', () => {
    const d = closed()
    const seal = sealOf(JOB, PEERS)
    d.msg('p3', voteMsg(seal, true))
    expect(only(d.msg('p3', voteMsg(seal, false)), 'penalise')).toEqual([{ kind: 'penalise', peerId: 'p3', reason: 'equivocation-vote', round: 0 }])
  })
})

describe('JobMachine: attempts, promises and re-proposals', () => {
  const promise = (d: Driver, from: string, attempt: number, locked?: { attempt: number, aggregateCid: string }, round = 0): ReturnType<Driver['send']> =>
    d.msg(from, { type: 'promise', jobId: JOB.id, round, attempt, ...(locked == null ? {} : { locked }) })

  it('moves on sealTimeoutMs after close when no seal came, promising the next attempt and re-announcing its delta', () => {
    const d = new Driver('p2')
    d.setup()
    d.deltas(PEERS)
    expect(d.m.view()).toMatchObject({ attempt: 0, aggregator: 'p0' })
    expect(d.m.nextWakeAt()).toBe(T0 + 3000)
    expect(d.tick(2999)).toEqual([])
    expect(d.tick(1)).toEqual([
      { kind: 'publish', msg: { type: 'promise', jobId: JOB.id, round: 0, attempt: 1 } },
      { kind: 'publish', msg: deltaMsg(JOB, 'p2') }
    ])
    expect(d.m.view()).toMatchObject({ attempt: 1, aggregator: 'p1' })
  })

  it('the next aggregator seals only once a strict majority promised the attempt', () => {
    const d = new Driver('p1')
    d.setup()
    d.deltas(PEERS)
    expect(only(d.tick(3000), 'aggregate')).toEqual([]) // our own promise: 1 of 5
    expect(only(promise(d, 'p2', 1), 'aggregate')).toEqual([])
    promise(d, 'p2', 1) // counted once
    expect(only(promise(d, 'p9', 1), 'aggregate')).toEqual([]) // not a participant
    expect(only(promise(d, 'p3', 1), 'aggregate')).toMatchObject([{ round: 0, attempt: 1 }])
  })

  it('keeps to a fixed schedule from the close: neither a late seal nor its rejection moves the slot', () => {
    const d = new Driver('p2')
    d.setup()
    d.deltas(PEERS)
    d.now += 2000
    const x = sealOf(JOB, PEERS)
    d.msg('p0', x)
    d.votes(x, ['p1', 'p3', 'p4'], false) // rejected: 3 of 5
    expect(d.m.view().attempt).toBe(0)
    expect(d.m.nextWakeAt()).toBe(T0 + 3000)
    d.tick(1000)
    expect(d.m.view().attempt).toBe(1)
    // after a pause, it skips to where the schedule is
    d.tick(10_000)
    expect(d.m.view().attempt).toBe(4)
  })

  it('catches up with the attempt a strict majority of the electorate would be at with it (it closed late)', () => {
    const d = new Driver('p2')
    d.setup()
    d.deltas(PEERS)
    promise(d, 'p0', 7)
    expect(d.m.view().attempt).toBe(0) // one of five ahead proves nothing: with us, two of five
    expect(published(promise(d, 'p3', 9), 'promise')).toEqual([{ type: 'promise', jobId: JOB.id, round: 0, attempt: 7 }])
    expect(d.m.view().attempt).toBe(7) // p0 and p3 promised at least 7: with us, three of five can seal it
  })

  it('in an electorate of two, follows the other one when it is ahead (a restarted node re-synchronises; issue 11)', () => {
    const job = jobWith({ minParticipants: 2 })
    const d = new Driver('p1', job)
    d.setup(true, ['p0', 'p1'])
    for (const p of ['p0', 'p1']) {
      const m = deltaMsg(job, p)
      if (p === 'p1') d.send({ kind: 'local-delta-ready', round: 0, baseModelCid: M0, cid: m.cid, samples: m.samples, bytes: m.bytes, metrics: m.metrics })
      else d.msg(p, m)
    }
    expect(d.m.view().phase).toBe('sealing')
    // before the fix: p0 alone ahead was never "a strict majority" with p1 counted at its own attempt, so p1 stayed a
    // slot behind for good, its seals stale to p0 and its promises too old
    const out = d.msg('p0', { type: 'promise', jobId: job.id, round: 0, attempt: 5 })
    expect(d.m.view().attempt).toBe(5)
    expect(published(out, 'promise')).toEqual([{ type: 'promise', jobId: job.id, round: 0, attempt: 5 }])
  })

  it('reports what it approved in its promises', () => {
    const d = new Driver('p2')
    d.setup()
    d.deltas(PEERS)
    const x = sealOf(JOB, PEERS)
    d.msg('p0', x)
    d.send({ kind: 'seal-verified', round: 0, attempt: 0, aggregateCid: x.aggregateCid, ok: true })
    const out = d.tick(3000)
    expect(published(out, 'promise')).toEqual([{ type: 'promise', jobId: JOB.id, round: 0, attempt: 1, locked: { attempt: 0, aggregateCid: x.aggregateCid } }])
    const y = sealOf(JOB, PEERS, { attempt: 1, aggregateCid: cid('y') })
    expect(d.msg('p1', y)).toEqual([{ kind: 'verify', seal: y }])
  })

  it('follows the next attempt when its aggregator is ahead, and refuses seals of attempts it promised past', () => {
    const d = new Driver('p2')
    d.setup()
    d.deltas(PEERS)
    const x = sealOf(JOB, PEERS)
    const y = sealOf(JOB, PEERS, { attempt: 1, aggregateCid: cid('y') })
    const out = d.msg('p1', y)
    expect(published(out, 'promise')).toMatchObject([{ attempt: 1 }])
    expect(only(out, 'verify')).toEqual([{ kind: 'verify', seal: y }])
    expect(published(d.msg('p0', x), 'vote')).toEqual([{ ...voteMsg(x, false), reason: 'stale' }])
  })

  it('re-proposes the highest-attempt aggregate the majority\'s promises report, and judges it like any seal', () => {
    const d = new Driver('p2')
    d.setup()
    d.deltas(PEERS)
    const x = sealOf(JOB, PEERS)
    const y = sealOf(JOB, PEERS, { attempt: 1, aggregateCid: cid('y') })
    d.msg('p0', x)
    d.send({ kind: 'seal-verified', round: 0, attempt: 0, aggregateCid: x.aggregateCid, ok: true }) // we approve x
    d.tick(3000)
    d.msg('p1', y)
    d.send({ kind: 'seal-verified', round: 0, attempt: 1, aggregateCid: y.aggregateCid, ok: true }) // and y, later
    expect(d.m.snapshot().state.lock).toEqual({ round: 0, attempt: 1, aggregateCid: y.aggregateCid })
    const out = d.tick(3000) // attempt 2 is ours
    expect(published(out, 'promise')).toEqual([{ type: 'promise', jobId: JOB.id, round: 0, attempt: 2, locked: { attempt: 1, aggregateCid: y.aggregateCid } }])
    expect(published(out, 'seal')).toEqual([])
    promise(d, 'p0', 2, { attempt: 0, aggregateCid: x.aggregateCid })
    const sealed = promise(d, 'p3', 2)
    const y2 = { ...y, attempt: 2 }
    // y (attempt 1) outranks x (attempt 0); we had verified y, so we approve our re-proposal at once
    expect(sealed).toEqual([{ kind: 'publish', msg: y2 }, { kind: 'publish', msg: voteMsg(y2, true) }])
    expect(only(d.votes(y2, ['p0', 'p3']), 'model-accepted')).toMatchObject([{ round: 0, modelCid: y.aggregateCid }])
  })

  it('does not carry forward a lock whose seal a majority rejected', () => {
    const d = new Driver('p1')
    d.setup()
    d.deltas(PEERS)
    const x = sealOf(JOB, PEERS, { aggregateCid: cid('bad') })
    d.msg('p0', x)
    d.send({ kind: 'seal-verified', round: 0, attempt: 0, aggregateCid: x.aggregateCid, ok: false, reason: 'mismatch' })
    d.votes(x, ['p0'])
    d.votes(x, ['p2', 'p3'], false) // rejected
    d.tick(3000) // attempt 1: ours
    promise(d, 'p0', 1, { attempt: 0, aggregateCid: x.aggregateCid })
    const out = promise(d, 'p2', 1)
    expect(published(out, 'seal')).toEqual([])
    expect(only(out, 'aggregate')).toMatchObject([{ attempt: 1 }])
  })
})

describe('JobMachine: electorate and stragglers', () => {
  const promise = (d: Driver, from: string, round: number, attempt: number): ReturnType<Driver['send']> =>
    d.msg(from, { type: 'promise', jobId: JOB.id, round, attempt })

  /** p1 through round 0: seal by p0 over p0..p3 (p4 left out), accepted. */
  function pastRound0 (): { d: Driver, seal: ReturnType<typeof sealOf> } {
    const d = new Driver('p1')
    d.setup()
    d.deltas(['p0', 'p1', 'p2', 'p3'])
    const seal = sealOf(JOB, ['p0', 'p1', 'p2', 'p3'])
    d.msg('p0', seal)
    d.send({ kind: 'seal-verified', round: 0, attempt: 0, aggregateCid: seal.aggregateCid, ok: true })
    d.votes(seal, ['p0', 'p2'])
    expect(d.m.view().round).toBe(1)
    return { d, seal }
  }

  it('takes the previous seal\'s contributors as the round\'s electorate and aggregator rotation', () => {
    const { d } = pastRound0()
    expect(d.m.view()).toMatchObject({ participants: PEERS, electorate: ['p0', 'p1', 'p2', 'p3'], aggregator: 'p1' })
    expect(d.m.aggregatorFor(1, 3)).toBe('p0') // (1 + 3) mod 4
    // p4 takes part (its delta counts) but its vote does not count this round
    d.deltas(PEERS, 1, cid('agg/0'))
    const s1 = sealOf(JOB, PEERS, { round: 1, baseModelCid: cid('agg/0') })
    d.send({ kind: 'aggregate-computed', round: 1, attempt: 0, aggregateCid: s1.aggregateCid, modelHash: s1.modelHash, deltas: s1.deltas.map(x => x.cid) })
    expect(d.votes(s1, ['p4', 'p2'])).toEqual([]) // p1 (ours) + p2 of 4: not yet a strict majority
    expect(only(d.votes(s1, ['p3']), 'model-accepted')).toHaveLength(1)
  })

  it('re-sends the seals it adopted, with its votes, to a peer stuck in an earlier round (once per sealTimeoutMs)', () => {
    const { d, seal } = pastRound0()
    const out = promise(d, 'p4', 0, 5)
    expect(published(out, 'seal')).toEqual([seal])
    expect(published(out, 'vote')).toEqual([voteMsg(seal, true)])
    // and stands by the adopted aggregate in that round's later attempts
    expect(published(out, 'promise')).toEqual([{ type: 'promise', jobId: JOB.id, round: 0, attempt: 5, locked: { attempt: 0, aggregateCid: seal.aggregateCid } }])
    expect(published(d.msg('p0', { ...seal, attempt: 5 }), 'vote')).toEqual([voteMsg({ ...seal, attempt: 5 }, true)])
    expect(d.msg('p0', { ...seal, attempt: 6, aggregateCid: cid('other') })).toEqual([])
    const sixth = promise(d, 'p4', 0, 6)
    expect(published(sixth, 'seal')).toEqual([]) // the re-send is rate-limited...
    expect(published(sixth, 'promise')).toEqual([{ type: 'promise', jobId: JOB.id, round: 0, attempt: 6, locked: { attempt: 0, aggregateCid: seal.aggregateCid } }]) // ...the promise is not
    d.tick(3000)
    expect(published(promise(d, 'p4', 0, 7), 'seal')).toEqual([seal])
  })

  it('tells a slow trainer\'s late delta from a stuck peer\'s repeated one', () => {
    const { d, seal } = pastRound0()
    expect(d.msg('p4', deltaMsg(JOB, 'p4'))).toEqual([]) // late: just slow
    expect(published(d.msg('p4', deltaMsg(JOB, 'p4')), 'seal')).toEqual([seal]) // again: stuck
  })

  it('a finished machine still helps, and nothing else', () => {
    const job = jobWith({ rounds: 1 })
    const d = new Driver('p1', job)
    d.setup()
    d.deltas(PEERS)
    const seal = sealOf(job, PEERS)
    d.msg('p0', seal)
    d.send({ kind: 'seal-verified', round: 0, attempt: 0, aggregateCid: seal.aggregateCid, ok: true })
    d.votes(seal, ['p0', 'p2'])
    expect(d.m.view().phase).toBe('finished')
    expect(published(d.msg('p4', { type: 'promise', jobId: job.id, round: 0, attempt: 2 }), 'seal')).toEqual([seal])
    expect(d.msg('p4', deltaMsg(job, 'p4', 0))).toEqual([])
    expect(d.tick(1e6)).toEqual([])
  })
})
