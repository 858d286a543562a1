/**
 * A closed round that loses a delta must still complete (the lost-voter liveness gap): its contributor died after
 * announcing it and before anyone fetched it, the aggregator's fetch timed out (`delta-unavailable`), and the round was left
 * with fewer usable deltas than minParticipants. A closed round still takes deltas; a participant with none in it (it
 * joined after the close) trains it once the round is short of deltas in its own view or needs a second attempt, and a
 * later attempt's fresh aggregate lists it. Locks are still re-proposed first (the Paxos promise rule).
 */
import { describe, it, expect } from 'vitest'
import { starved, wantsLateDeltas } from '../../../../src/training/round/rules.js'
import { newRound } from '../../../../src/training/round/state.js'
import type { RoundSeal } from '../../../../src/training/protocol/index.js'
import { JobMachine } from '../../../../src/training/round/index.js'
import { Driver, M0, T0, dcid, deltaMsg, jobWith, only, published, sealOf, voteMsg } from './driver.js'
import { Sim, verdict } from './sim.js'

const job = jobWith({ minParticipants: 2 })
const SLOT = job.timing.sealTimeoutMs

/** Who seals (round, attempt) when the electorate is p0 and p1. */
function aggregatorOf (round: number, attempt: number): string {
  const d = new Driver('p2', job)
  d.setup(false, ['p0', 'p1'])
  return d.m.aggregatorFor(round, attempt) as string
}
const A1 = aggregatorOf(1, 0)
const OTHER = A1 === 'p0' ? 'p1' : 'p0'

/**
 * Round 0 contributed and sealed by p0 and p1, so round 1's electorate is exactly them; `self` joined from the start
 * when it is one of them, else it watches. Returns the driver in round 1 and round 0's seal (round 1's base).
 */
function inRound1 (self: string): { d: Driver, seal: RoundSeal } {
  const d = new Driver(self, job)
  const member = self === 'p0' || self === 'p1'
  d.setup(member, ['p0', 'p1'])
  d.deltas(['p0', 'p1'])
  const seal = sealOf(job, ['p0', 'p1'])
  const agg = d.m.aggregatorFor(0, 0) as string
  if (agg === self) {
    d.send({ kind: 'aggregate-computed', round: 0, attempt: 0, aggregateCid: seal.aggregateCid, modelHash: seal.modelHash, deltas: seal.deltas.map(x => x.cid) })
  } else {
    d.msg(agg, seal)
    if (member) d.send({ kind: 'seal-verified', round: 0, attempt: 0, aggregateCid: seal.aggregateCid, ok: true })
  }
  for (const v of ['p0', 'p1']) if (v !== self) d.msg(v, voteMsg(seal, true))
  expect(d.m.view()).toMatchObject({ round: 1, electorate: ['p0', 'p1'], baseModelCid: seal.aggregateCid })
  return { d, seal }
}

const round1Delta = (peer: string, seal: RoundSeal): ReturnType<typeof deltaMsg> => deltaMsg(job, peer, 1, seal.aggregateCid)

describe('round rules: a closed round that still takes late deltas', () => {
  const entry = (peer: string): ReturnType<typeof newRound>['deltas'][number] =>
    ({ round: 0, peerId: peer, cid: dcid(peer), baseModelCid: M0, samples: 100, bytes: 64, metrics: { loss: 0.5, accuracy: 0.6 }, arrivedAt: T0 })
  it.each<[string, boolean, boolean, { closed: boolean, attempt: number, deltas: string[], invalid: string[] }]>([
    ['open, short of deltas', false, false, { closed: false, attempt: 0, deltas: ['p0'], invalid: [] }],
    ['closed at attempt 0 with enough', false, false, { closed: true, attempt: 0, deltas: ['p0', 'p1'], invalid: [] }],
    ['closed at attempt 0, one refused after the close', true, true, { closed: true, attempt: 0, deltas: ['p0', 'p1'], invalid: ['p1'] }],
    ['closed, needing attempt 1, with enough here', false, true, { closed: true, attempt: 1, deltas: ['p0', 'p1'], invalid: [] }],
    ['closed, needing attempt 5, short', true, true, { closed: true, attempt: 5, deltas: ['p0', 'p1'], invalid: ['p0'] }]
  ])('%s: starved %s, takes late deltas %s', (_name, isStarved, takes, c) => {
    const r = { ...newRound(0, M0, null, T0), closedAt: c.closed ? T0 + 1 : null, attempt: c.attempt, deltas: c.deltas.map(entry), invalid: c.invalid.map(p => dcid(p)) }
    expect(starved(r, job)).toBe(isStarved)
    expect(wantsLateDeltas(r, job)).toBe(takes)
  })
})

describe('JobMachine: a closed round short of deltas collects again', () => {
  it('a node that joins after the close trains the round once it needs a second attempt, once', () => {
    const { d, seal } = inRound1('p2')
    d.deltas(['p0', 'p1'], 1, seal.aggregateCid)
    expect(d.m.view().phase).toBe('sealing')
    // the round looks complete here: at attempt 0 a seal is on its way, our delta would come too late
    expect(only(d.send({ kind: 'join', samples: 100 }), 'train')).toEqual([])
    expect(only(d.tick(SLOT - 1), 'train')).toEqual([])
    const out = d.tick(1)
    expect(d.m.view().attempt).toBe(1)
    expect(only(out, 'train')).toEqual([{ kind: 'train', round: 1, baseModelCid: seal.aggregateCid, modelHash: seal.modelHash }])
    expect(only(d.tick(SLOT), 'train')).toEqual([])
    // its delta counts like any other, and is re-announced each attempt from then on
    const own = round1Delta('p2', seal)
    expect(published(d.send({ kind: 'local-delta-ready', round: 1, baseModelCid: seal.aggregateCid, cid: own.cid, samples: own.samples, bytes: own.bytes, metrics: own.metrics }), 'delta')).toEqual([own])
    expect(d.m.view().deltas).toBe(3)
    expect(published(d.tick(SLOT), 'delta')).toEqual([own])
  })

  it('a node that joined after the close trains at once when a delta of the round is refused here', () => {
    const { d, seal } = inRound1('p2')
    d.deltas(['p0', 'p1'], 1, seal.aggregateCid)
    expect(only(d.send({ kind: 'join', samples: 100 }), 'train')).toEqual([])
    // e.g. the shell's early screening of a prefetched delta
    const out = d.send({ kind: 'delta-invalid', round: 1, cid: round1Delta(OTHER, seal).cid, peerId: OTHER, reason: 'ERR_SHAPE' })
    expect(d.m.view().attempt).toBe(0)
    expect(only(out, 'train')).toEqual([{ kind: 'train', round: 1, baseModelCid: seal.aggregateCid, modelHash: seal.modelHash }])
  })

  it('an observer never trains, and a contributor never trains a round twice', () => {
    const watcher = inRound1('p2').d
    const { d, seal } = inRound1(A1)
    for (const x of [watcher, d]) x.deltas(['p0', 'p1'], 1, seal.aggregateCid)
    for (let i = 0; i < 3; i++) {
      expect(only(watcher.tick(SLOT), 'train')).toEqual([])
      expect(only(d.tick(SLOT), 'train')).toEqual([])
    }
    expect(only(d.send({ kind: 'delta-invalid', round: 1, cid: round1Delta(OTHER, seal).cid, peerId: OTHER, reason: 'x' }), 'train')).toEqual([])
  })

  it('the aggregator whose delta was refused after the close seals again with a late joiner\'s delta', () => {
    const { d, seal } = inRound1(A1)
    const base = seal.aggregateCid
    const out0 = d.deltas([A1, OTHER], 1, base)
    const asked = only(out0, 'aggregate')
    expect(asked.map(a => a.deltas.map(x => x.peerId).sort())).toEqual([['p0', 'p1']])
    // the other contributor died before we fetched its delta: the fetch times out
    const refused = d.send({ kind: 'delta-unavailable', round: 1, cid: round1Delta(OTHER, seal).cid, peerId: OTHER, reason: 'ERR_TIMEOUT' })
    expect(only(refused, 'penalise')).toEqual([{ kind: 'penalise', peerId: OTHER, reason: 'unavailable-delta', round: 1 }])
    expect(only(refused, 'aggregate')).toEqual([])
    expect(d.m.view()).toMatchObject({ phase: 'sealing', deltas: 1 })
    expect(d.m.stall()?.reason).toContain('short of deltas: 1 usable of the 2 needed')
    // a late joiner's delta reaches the closed round: a fresh aggregate of what is usable now
    d.msg('p2', { type: 'join', jobId: job.id, samples: 100 })
    const out = d.msg('p2', round1Delta('p2', seal))
    expect(only(out, 'aggregate').map(a => ({ attempt: a.attempt, peers: a.deltas.map(x => x.peerId).sort() }))).toEqual([{ attempt: 0, peers: [A1, 'p2'].sort() }])
    expect(d.m.stall()?.reason ?? '').not.toContain('short of deltas')
    const cids = only(out, 'aggregate')[0].deltas.map(x => x.cid)
    const sealed = published(d.send({ kind: 'aggregate-computed', round: 1, attempt: 0, aggregateCid: dcid('agg', 1), modelHash: 'ab'.repeat(32), deltas: cids }), 'seal')
    expect(sealed.map(s => s.deltas.map(x => x.peerId).sort())).toEqual([[A1, 'p2'].sort()])
  })

  it('a lock a quorum may hold is still re-proposed before a fresh aggregate with the late delta', () => {
    // B seals attempt 1; A sealed attempt 0 over both deltas and approved it; B refused A's delta before it could check
    const B = aggregatorOf(1, 1)
    const A = aggregatorOf(1, 0)
    expect(B).not.toBe(A) // the rotation over two members alternates
    const { d, seal } = inRound1(B)
    const base = seal.aggregateCid
    d.deltas([B, A], 1, base)
    d.send({ kind: 'delta-unavailable', round: 1, cid: round1Delta(A, seal).cid, peerId: A, reason: 'ERR_TIMEOUT' })
    const s0 = sealOf(job, [A, B], { round: 1, baseModelCid: base })
    // a delta we failed to fetch is no verdict on a seal listing it: we verify (fetch it again), and fail again
    expect(only(d.msg(A, s0), 'verify')).toEqual([{ kind: 'verify', seal: s0 }])
    const failed = d.send({ kind: 'seal-verified', round: 1, attempt: 0, aggregateCid: s0.aggregateCid, ok: false, reason: 'unavailable' })
    expect(published(failed, 'vote')).toEqual([{ ...voteMsg(s0, false), reason: 'unavailable' }])
    d.msg(A, voteMsg(s0, true))
    // a late delta makes a fresh aggregate possible...
    d.msg('p2', { type: 'join', jobId: job.id, samples: 100 })
    d.msg('p2', round1Delta('p2', seal))
    expect(d.m.view().deltas).toBe(2)
    d.tick(SLOT)
    expect(d.m.view()).toMatchObject({ attempt: 1, aggregator: B })
    // ...but A's promise reports its approval of s0: half of the electorate may have accepted it, so B re-proposes it
    const out = d.msg(A, { type: 'promise', jobId: job.id, round: 1, attempt: 1, locked: { attempt: 0, aggregateCid: s0.aggregateCid } })
    expect(only(out, 'aggregate')).toEqual([])
    expect(published(out, 'seal')).toEqual([{ ...s0, attempt: 1 }])
  })

  it('after a restart, a node asked to train a closed round that still wants deltas is asked again', () => {
    const { d, seal } = inRound1('p2')
    d.deltas(['p0', 'p1'], 1, seal.aggregateCid)
    d.send({ kind: 'join', samples: 100 })
    const snapAt0 = d.m.snapshot()
    expect(only(d.tick(SLOT), 'train')).toHaveLength(1)
    // killed while training: the delta never came
    const again = JobMachine.fromSnapshot(d.m.snapshot(), { self: 'p2', job }).resume(d.now)
    expect(only(again, 'train')).toEqual([{ kind: 'train', round: 1, baseModelCid: seal.aggregateCid, modelHash: seal.modelHash }])
    // at attempt 0 (before it was asked) a restart asks for nothing
    expect(only(JobMachine.fromSnapshot(snapAt0, { self: 'p2', job }).resume(d.now - SLOT), 'train')).toEqual([])
  })
})

describe('simulation: a contributor dies after delivering, before anyone fetched its delta', () => {
  it('the round collects again; the late joiner\'s delta completes it and the job finishes on the live nodes', () => {
    const sim = new Sim(3, { job: { minParticipants: 2 } })
    const [p0, p1, p2] = sim.nodes
    for (const n of [p0, p1]) sim.dispatch(n, { kind: 'join', samples: 100 })
    // round 1 closes on both deltas (p0 and p1 are all the participants), then p1 dies: its delta's bytes with it
    sim.run(() => p0.machine.view().round === 1 && p0.machine.view().phase === 'sealing')
    expect(p0.machine.view().deltas).toBe(2)
    sim.crash(p1, true)
    sim.unfetchable.add(p1.id)
    sim.dispatch(p2, { kind: 'join', samples: 100 })
    expect(p2.machine.view()).toMatchObject({ round: 1, phase: 'sealing' })
    expect(p2.log.trains).toEqual([])
    sim.run(() => p0.log.finished != null && p2.log.finished != null, 300_000)
    expect(verdict(sim, 3, [p1])).toBeNull()
    expect(p2.log.trains).toEqual([1, 2])
    expect(p0.log.penalties).toContainEqual({ peerId: p1.id, reason: 'unavailable-delta', round: 1 })
    // round 1 was sealed over the creator's and the late joiner's deltas
    const r1 = p0.log.accepted.find(a => a.round === 1)
    const s1 = sim.nodes.flatMap(n => n.log.seals).find(s => s.round === 1 && s.aggregateCid === r1?.modelCid)
    expect(s1?.deltas.map(x => x.peerId).sort()).toEqual([p0.id, p2.id])
  })
})
