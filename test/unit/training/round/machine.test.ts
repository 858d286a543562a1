import { describe, it, expect } from 'vitest'
import { JobMachine } from '../../../../src/training/round/index.js'
import { Driver, JOB, M0, PEERS, T0, cid, dcid, deltaMsg, jobWith, only, published, sealOf, voteMsg } from './driver.js'

const OTHERS = (self: string): string[] => PEERS.filter(p => p !== self)

describe('JobMachine: membership', () => {
  it('tracks joins and leaves by envelope seq, ignoring strangers\' leaves, other jobs and our own echoes', () => {
    const d = new Driver('p1')
    d.msg('p2', { type: 'join', jobId: JOB.id, samples: 10 }, 10)
    d.msg('p2', { type: 'leave', jobId: JOB.id }, 5) // older: ignored
    expect(d.m.participants()).toEqual(['p2'])
    d.msg('p2', { type: 'leave', jobId: JOB.id }, 11)
    d.msg('p3', { type: 'leave', jobId: JOB.id })
    d.msg('p4', { type: 'join', jobId: jobWith({ rounds: 4 }).id, samples: 10 })
    d.msg('p1', { type: 'join', jobId: JOB.id, samples: 10 })
    expect(d.m.participants()).toEqual([])
    expect(d.m.snapshot().state.members).toEqual({ p2: { seq: 11, joined: false, samples: 0 } })
  })

  it('publishes our join and leave, and counts us only while joined', () => {
    const d = new Driver('p1')
    expect(published(d.send({ kind: 'join', samples: 50 }), 'join')).toEqual([{ type: 'join', jobId: JOB.id, samples: 50 }])
    expect(d.m.participants()).toEqual(['p1'])
    expect(published(d.send({ kind: 'leave' }), 'leave')).toEqual([{ type: 'leave', jobId: JOB.id }])
    expect(d.send({ kind: 'leave' })).toEqual([])
    expect(d.m.participants()).toEqual([])
  })
})

describe('JobMachine: round start and training', () => {
  it('starts round 0 once minParticipants joined, and a joined node trains once on M0', () => {
    const d = new Driver('p1')
    expect(only(d.send({ kind: 'join', samples: 100 }), 'train')).toEqual([])
    expect(d.m.view().phase).toBe('waiting')
    expect(only(d.msg('p0', { type: 'join', jobId: JOB.id, samples: 1 }), 'train')).toEqual([])
    expect(only(d.msg('p2', { type: 'join', jobId: JOB.id, samples: 1 }), 'train')).toEqual([{ kind: 'train', round: 0, baseModelCid: M0, modelHash: null }])
    expect(d.m.view().phase).toBe('collecting')
    expect(only(d.msg('p3', { type: 'join', jobId: JOB.id, samples: 1 }), 'train')).toEqual([])
  })

  it('an observer follows but never trains', () => {
    const d = new Driver('p1')
    expect(only(d.setup(false), 'train')).toEqual([])
    expect(d.m.view()).toMatchObject({ phase: 'collecting', joined: false, participants: OTHERS('p1') })
  })

  it('publishes our delta only for the current round and base, once', () => {
    const d = new Driver('p1')
    d.setup()
    expect(d.send({ kind: 'local-delta-ready', round: 1, baseModelCid: M0, cid: dcid('p1'), samples: 1, bytes: 1, metrics: { loss: 1, accuracy: 0 } })).toEqual([])
    expect(d.send({ kind: 'local-delta-ready', round: 0, baseModelCid: cid('x'), cid: dcid('p1'), samples: 1, bytes: 1, metrics: { loss: 1, accuracy: 0 } })).toEqual([])
    expect(published(d.ownDelta(), 'delta')).toEqual([deltaMsg(JOB, 'p1')])
    expect(d.ownDelta()).toEqual([])
  })
})

describe('JobMachine: deltas', () => {
  it.each<[string, (d: Driver) => void, number, string[]]>([
    ['from a participant on M0', d => d.msg('p2', deltaMsg(JOB, 'p2')), 1, []],
    ['from a peer whose join we missed (a signed delta implies it)', d => d.msg('px', deltaMsg(JOB, 'px')), 1, []],
    ['from a peer that left after announcing it', d => { d.msg('p2', { type: 'leave', jobId: JOB.id }, T0 * 2); d.msg('p2', deltaMsg(JOB, 'p2'), T0 + 1) }, 0, []],
    ['on another base', d => d.msg('p2', deltaMsg(JOB, 'p2', 0, cid('fork'))), 0, []],
    ['for a round beyond the job', d => d.msg('p2', deltaMsg(JOB, 'p2', 3)), 0, []],
    ['for a later round (held back)', d => d.msg('p2', deltaMsg(JOB, 'p2', 1)), 0, []],
    ['announced twice (re-announcement)', d => { d.msg('p2', deltaMsg(JOB, 'p2')); d.msg('p2', deltaMsg(JOB, 'p2')) }, 1, []],
    ['two different ones: equivocation, both dropped, one penalty', d => {
      d.msg('p2', deltaMsg(JOB, 'p2'))
      d.msg('p2', deltaMsg(JOB, 'p2', 0, M0, { cid: dcid('p2', 0, 'b') }))
      d.msg('p2', deltaMsg(JOB, 'p2', 0, M0, { cid: dcid('p2', 0, 'c') }))
    }, 0, ['p2 equivocation-delta']]
  ])('%s', (_name, act, usable, penalties) => {
    const d = new Driver('p1')
    d.setup()
    const out: ReturnType<Driver['send']> = []
    const send = d.send.bind(d)
    d.send = ev => { const a = send(ev); out.push(...a); return a }
    act(d)
    expect(d.m.view().deltas).toBe(usable)
    expect(only(out, 'penalise').map(p => `${p.peerId} ${p.reason}`)).toEqual(penalties)
  })
})

describe('JobMachine: closing a round', () => {
  it('closes as soon as every participant delivered', () => {
    const d = new Driver('p1')
    d.setup()
    d.deltas(['p0', 'p2', 'p3', 'p4'])
    expect(d.m.view().phase).toBe('collecting')
    d.deltas(['p1'])
    expect(d.m.view().phase).toBe('sealing')
  })

  it('closes at the adaptive deadline once minParticipants delivered, leaving stragglers out', () => {
    const d = new Driver('p1')
    d.setup()
    d.deltas(['p0', 'p2', 'p3'], 0, M0, 100)
    // offsets 100, 200, 300: median 200 + 3 * MAD 100 = 500, clamped up to minWaitMs 1500
    expect(d.m.nextWakeAt()).toBe(T0 + 1500)
    d.tick(1499 - 300)
    expect(d.m.view().phase).toBe('collecting')
    d.tick(1)
    expect(d.m.view().phase).toBe('sealing')
  })

  it('keeps waiting short of minParticipants, re-announcing join and delta every roundTimeoutMs', () => {
    const d = new Driver('p1')
    d.setup()
    d.deltas(['p1', 'p0'])
    expect(d.m.nextWakeAt()).toBe(T0 + 30_000)
    expect(d.tick(10_000)).toEqual([]) // the cap does not close a round short of deltas
    const out = d.tick(20_000)
    expect(published(out, 'join')).toHaveLength(1)
    expect(published(out, 'delta')).toEqual([deltaMsg(JOB, 'p1')])
    expect(d.m.view().phase).toBe('collecting')
    expect(d.m.nextWakeAt()).toBe(T0 + 60_000)
  })
})

describe('JobMachine: sealing (we are the aggregator)', () => {
  function closed (): Driver {
    const d = new Driver('p0')
    d.setup()
    return d
  }

  it('asks for the aggregate of the usable deltas, sorted by cid, at close', () => {
    const d = closed()
    const out = d.deltas(PEERS)
    const agg = only(out, 'aggregate')
    expect(agg).toHaveLength(1)
    expect(agg[0]).toMatchObject({ round: 0, attempt: 0, baseModelCid: M0 })
    expect(agg[0].deltas.map(x => x.cid)).toEqual(PEERS.map(p => dcid(p)).sort())
    expect(agg[0].deltas.every(x => x.samples === 100 && PEERS.includes(x.peerId))).toBe(true)
  })

  it('publishes the seal and its own approval when the matching aggregate is computed', () => {
    const d = closed()
    const cids = only(d.deltas(PEERS), 'aggregate')[0].deltas.map(x => x.cid)
    const base = { kind: 'aggregate-computed' as const, round: 0, attempt: 0, aggregateCid: cid('agg/0'), modelHash: 'cd'.repeat(32) }
    expect(d.send({ ...base, deltas: cids.slice(1) })).toEqual([])
    expect(d.send({ ...base, attempt: 1, deltas: cids })).toEqual([])
    const out = d.send({ ...base, deltas: cids })
    const seal = sealOf(JOB, PEERS)
    expect(out).toEqual([{ kind: 'publish', msg: seal }, { kind: 'publish', msg: voteMsg(seal, true) }])
    expect(d.send({ ...base, deltas: cids })).toEqual([]) // once per attempt
  })

  it('drops a delta the shell found invalid and asks again without it', () => {
    const d = closed()
    const first = only(d.deltas(PEERS), 'aggregate')[0]
    const out = d.send({ kind: 'delta-invalid', round: 0, cid: dcid('p3'), peerId: 'p3', reason: 'NaN' })
    expect(only(out, 'penalise')).toEqual([{ kind: 'penalise', peerId: 'p3', reason: 'invalid-delta', round: 0 }])
    const again = only(out, 'aggregate')
    expect(again[0].deltas.map(x => x.peerId).sort()).toEqual(['p0', 'p1', 'p2', 'p4'])
    // the answer to the first request no longer counts
    expect(d.send({ kind: 'aggregate-computed', round: 0, attempt: 0, aggregateCid: cid('a'), modelHash: 'cd'.repeat(32), deltas: first.deltas.map(x => x.cid) })).toEqual([])
  })

  it('does not ask again when fewer than minParticipants usable deltas remain', () => {
    const d = closed()
    d.deltas(['p0', 'p1', 'p2'])
    expect(only(d.tick(1500), 'aggregate')).toHaveLength(1)
    const out = d.send({ kind: 'delta-invalid', round: 0, cid: dcid('p2'), peerId: 'p2', reason: 'undecodable' })
    expect(only(out, 'aggregate')).toEqual([])
  })
})

describe('JobMachine: acceptance', () => {
  function verified (self = 'p1'): { d: Driver, seal: ReturnType<typeof sealOf> } {
    const d = new Driver(self)
    d.setup()
    d.deltas(PEERS)
    const seal = sealOf(JOB, PEERS)
    d.msg('p0', seal)
    d.send({ kind: 'seal-verified', round: 0, attempt: 0, aggregateCid: seal.aggregateCid, ok: true })
    return { d, seal }
  }

  it('adopts a seal approved by a strict majority, re-announces its join and trains the next round', () => {
    const { d, seal } = verified()
    expect(d.votes(seal, ['p0'])).toEqual([])
    const out = d.votes(seal, ['p2'])
    expect(out).toEqual([
      { kind: 'model-accepted', round: 0, modelCid: seal.aggregateCid, modelHash: seal.modelHash, metrics: seal.metrics, seal, aggregator: 'p0' },
      { kind: 'publish', msg: { type: 'join', jobId: JOB.id, samples: 100 } },
      { kind: 'train', round: 1, baseModelCid: seal.aggregateCid, modelHash: seal.modelHash }
    ])
    expect(d.m.view()).toMatchObject({ round: 1, attempt: 0, phase: 'collecting', deltas: 0, baseModelCid: seal.aggregateCid })
  })

  it('replays deltas of the next round that arrived early', () => {
    const { d, seal } = verified()
    d.msg('p3', deltaMsg(JOB, 'p3', 1, seal.aggregateCid))
    d.msg('p4', deltaMsg(JOB, 'p4', 1, cid('fork')))
    d.votes(seal, ['p0', 'p2'])
    expect(d.m.view().deltas).toBe(1)
  })

  it('counts votes that came before the seal', () => {
    const d = new Driver('p1')
    d.setup()
    const seal = sealOf(JOB, PEERS)
    d.votes(seal, ['p0', 'p2', 'p3'])
    expect(only(d.msg('p0', seal), 'model-accepted')).toHaveLength(1)
  })

  it('counts only participants, and needs at least minParticipants of them', () => {
    const d = new Driver('p1')
    d.msg('p0', { type: 'join', jobId: JOB.id, samples: 1 })
    d.msg('p2', { type: 'join', jobId: JOB.id, samples: 1 })
    const seal = sealOf(JOB, PEERS)
    d.msg('p0', seal)
    expect(d.votes(seal, ['x1', 'x2', 'x3', 'p0', 'p2'])).toEqual([]) // 2 of 2 participants, but fewer than 3
    expect(only(d.msg('p3', { type: 'join', jobId: JOB.id, samples: 1 }), 'model-accepted')).toHaveLength(1)
  })

  it('holds votes of peers it does not know yet and counts them once they join (a node that just came back)', () => {
    const d = new Driver('p1')
    d.send({ kind: 'join', samples: 100 })
    const seal = sealOf(JOB, PEERS)
    d.msg('p0', seal)
    expect(d.votes(seal, ['p0', 'p2', 'p3'])).toEqual([])
    expect(d.msg('p0', { type: 'join', jobId: JOB.id, samples: 1 })).toEqual([]) // 2 known participants: too few
    // p0, p1 (us), p2: minParticipants known, and p0 + p2 approved
    expect(only(d.msg('p2', { type: 'join', jobId: JOB.id, samples: 1 }), 'model-accepted')).toMatchObject([{ round: 0 }])
  })

  it('does not let strangers\' vote spam or one peer\'s seal spam crowd out the participants', () => {
    const d = new Driver('p1')
    d.setup()
    d.deltas(PEERS)
    const seal = sealOf(JOB, PEERS)
    for (let i = 0; i < 2000; i++) d.msg(`x${i}`, voteMsg(seal, false))
    for (let r = 1; r < 3; r++) for (let a = 0; a < 5; a++) d.msg('p3', sealOf(JOB, ['p0', 'p2', 'p3'], { round: r, attempt: a, baseModelCid: cid('junk') }))
    expect(d.m.snapshot().state.seals).toHaveLength(8)
    expect(d.m.snapshot().state.strangerVotes).toHaveLength(1024)
    expect(d.msg('p0', seal)).toEqual([{ kind: 'verify', seal }])
    d.send({ kind: 'seal-verified', round: 0, attempt: 0, aggregateCid: seal.aggregateCid, ok: true })
    expect(only(d.votes(seal, ['p0', 'p2']), 'model-accepted')).toHaveLength(1)
  })

  it('catches up with an accepted seal of a later round', () => {
    const job = jobWith({ rounds: 5 })
    const d = new Driver('p1', job)
    d.setup()
    const seal = sealOf(job, ['p0', 'p2', 'p3'], { round: 2, attempt: 1, baseModelCid: cid('m2') })
    d.msg('p3', seal) // p3 seals round 2 attempt 1 in rotation; we cannot check it, the majority did
    const out = d.votes(seal, ['p0', 'p2', 'p3'])
    expect(only(out, 'model-accepted')).toMatchObject([{ round: 2, modelCid: seal.aggregateCid }])
    expect(only(out, 'train')).toEqual([{ kind: 'train', round: 3, baseModelCid: seal.aggregateCid, modelHash: seal.modelHash }])
  })

  it('finishes after the last round and then ignores everything', () => {
    const job = jobWith({ rounds: 1 })
    const d = new Driver('p1', job)
    d.setup()
    const seal = sealOf(job, PEERS)
    d.msg('p0', seal)
    const out = d.votes(seal, ['p0', 'p2', 'p3'])
    expect(out.map(a => a.kind)).toEqual(['model-accepted', 'job-finished'])
    expect(only(out, 'job-finished')).toEqual([{ kind: 'job-finished', reason: 'rounds', round: 0, modelCid: seal.aggregateCid, modelHash: seal.modelHash }])
    expect(d.m.view().phase).toBe('finished')
    expect(d.m.nextWakeAt()).toBeNull()
    expect(d.tick(1e6)).toEqual([])
    expect(d.msg('p4', deltaMsg(job, 'p4', 0))).toEqual([])
  })

  it('does not judge the target on the seal\'s median: the creator stops the job on the pooled figure (one definition)', () => {
    const job = jobWith({ target: { metric: 'accuracy', value: 0.6 } }) // the deltas report 0.6: the median reaches it
    const d = new Driver('p1', job)
    d.setup()
    const seal = sealOf(job, PEERS)
    d.msg('p0', seal)
    const out = d.votes(seal, ['p0', 'p2', 'p3'])
    expect(only(out, 'model-accepted')).toHaveLength(1)
    expect(only(out, 'job-finished')).toEqual([])
    expect(d.m.view()).toMatchObject({ round: 1, phase: 'collecting' })
  })
})

describe('JobMachine: snapshot and restore', () => {
  it('a machine restored from a JSON snapshot behaves exactly like the original', () => {
    const a = new Driver('p1')
    a.setup()
    a.deltas(PEERS)
    const seal = sealOf(JOB, PEERS)
    a.msg('p0', seal)
    a.votes(seal, ['p0'])
    const snap = JSON.parse(JSON.stringify(a.m.snapshot()))
    const b = new Driver('p1')
    b.m.restore(snap)
    b.now = a.now
    expect(b.m.snapshot()).toEqual(a.m.snapshot())
    expect(b.m.view()).toEqual(a.m.view())
    const script = (d: Driver): unknown[] => [
      d.send({ kind: 'seal-verified', round: 0, attempt: 0, aggregateCid: seal.aggregateCid, ok: true }),
      d.votes(seal, ['p2']),
      d.tick(5000),
      d.m.snapshot()
    ]
    const got = script(b)
    expect(got).toEqual(script(a))
    expect(only(got[1] as ReturnType<Driver['send']>, 'model-accepted')).toHaveLength(1)
  })

  it('after a restart, asks again for the work that was in flight', () => {
    // p1 trains; p0 asked for the aggregate of the round it closed
    const t = new Driver('p1')
    t.setup()
    expect(only(JobMachine.fromSnapshot(t.m.snapshot(), { self: 'p1', job: JOB }).resume(t.now), 'train')).toEqual([{ kind: 'train', round: 0, baseModelCid: M0, modelHash: null }])
    const a = new Driver('p0')
    a.setup()
    a.deltas(['p1', 'p2', 'p3', 'p4'])
    expect(only(a.tick(1500), 'aggregate')).toHaveLength(1)
    const out = JobMachine.fromSnapshot(JSON.parse(JSON.stringify(a.m.snapshot())), { self: 'p0', job: JOB }).resume(a.now)
    // the round closed without our delta: no point training; the aggregate is asked for again
    expect(out.map(x => x.kind)).toEqual(['aggregate'])
    expect(only(out, 'aggregate')[0].deltas.map(x => x.peerId).sort()).toEqual(['p1', 'p2', 'p3', 'p4'])
    // a machine with nothing in flight asks for nothing
    expect(JobMachine.fromSnapshot(new Driver('p3').m.snapshot(), { self: 'p3', job: JOB }).resume(T0)).toEqual([])
  })

  it('after a restart, re-verifies the seal it was verifying', () => {
    const a = new Driver('p1')
    a.setup()
    a.deltas(PEERS)
    const seal = sealOf(JOB, PEERS)
    expect(a.msg('p0', seal)).toEqual([{ kind: 'verify', seal }])
    const restored = JobMachine.fromSnapshot(JSON.parse(JSON.stringify(a.m.snapshot())), { self: 'p1', job: JOB })
    const out = restored.resume(a.now)
    expect(out[0]).toEqual({ kind: 'verify', seal })
    // and re-announces its delta at once (a node past the round re-sends its seals on a repeated delta)
    expect(out.slice(1)).toEqual([{ kind: 'publish', msg: deltaMsg(JOB, 'p1') }])
  })

  it('refuses a snapshot of another job or version', () => {
    const snap = new Driver('p1').m.snapshot()
    const other = new JobMachine({ self: 'p1', job: jobWith({ rounds: 9 }) })
    expect(() => other.restore(snap)).toThrow(expect.objectContaining({ code: 'ERR_SNAPSHOT' }))
    expect(() => JobMachine.fromSnapshot({ ...snap, v: 2 as 1 }, { self: 'p1', job: JOB })).toThrow(expect.objectContaining({ code: 'ERR_SNAPSHOT' }))
  })
})
