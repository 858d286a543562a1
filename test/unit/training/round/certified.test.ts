/**
 * Seals through consensus, the round machine's side: with a certifying acceptance (service/seal-voting.ts
 * `ConsensusSealAcceptance`), every adoption needs a QC naming the electorate it adopts under. In particular the creator's
 * reduced electorate (round/electorate.ts, a voter lost for good) adopts only with a QC of a proposal naming that reduced
 * electorate, and all of its members' counted approvals besides.
 */
import { describe, it, expect } from 'vitest'
import { Driver, M0, cid, jobWith, only, published, sealOf, voteMsg } from './driver.js'
import type { SealRef } from '../../../../src/consensus/index.js'
import type { ElectorateChange, JobSpec, RoundSeal } from '../../../../src/training/protocol/index.js'
import type { JobAction } from '../../../../src/training/round/index.js'
import { ConsensusSealAcceptance } from '../../../../src/training/service/seal-voting.js'

/** QCs the test grants: `ref` under exactly `electorate`. */
class Qcs {
  private readonly granted = new Set<string>()
  private key (ref: SealRef, electorate: readonly string[]): string { return `${ref.round}/${ref.attempt}/${ref.aggregateCid}/${[...electorate].sort().join(',')}` }
  grant (seal: RoundSeal, electorate: readonly string[]): void { this.granted.add(this.key(seal, electorate)) }
  readonly has = (ref: SealRef, electorate: readonly string[]): boolean => this.granted.has(this.key(ref, electorate))
}

const record = (job: JobSpec, electorate: string[], fromAttempt: number): ElectorateChange => ({ type: 'electorate', jobId: job.id, round: 0, fromAttempt, electorate })

/** The creator p0 with p1 silent in a two-voter round 0 (as electorate.test.ts), through consensus. */
function creatorOfTwo (): { d: Driver, qcs: Qcs, out: JobAction[] } {
  const job = jobWith({ minParticipants: 2 })
  const qcs = new Qcs()
  const d = new Driver('p0', job, new ConsensusSealAcceptance(qcs.has))
  d.setup(true, ['p0', 'p1'])
  const out = d.deltas(['p0', 'p1'])
  for (let i = 0; i < 12; i++) {
    const step = d.tick(3000)
    out.push(...step)
    for (const req of only(step, 'aggregate')) {
      out.push(...d.send({ kind: 'aggregate-computed', round: 0, attempt: req.attempt, aggregateCid: cid(`fresh/${req.attempt}`), modelHash: 'ff'.repeat(32), deltas: req.deltas.map(x => x.cid) }))
    }
  }
  return { d, qcs, out }
}

describe('a voter lost for good, through consensus', () => {
  it('the live half seals and approves, but adopts only once a QC names the reduced electorate', () => {
    const { d, qcs, out } = creatorOfTwo()
    expect(published(out, 'electorate')).toMatchObject([{ fromAttempt: 4, electorate: ['p0'] }])
    // p0 sealed and approved at attempts of its own from the record on; its counted approval alone adopts nothing
    const sealed = published(out, 'seal').filter(s => s.attempt >= 4)
    expect(sealed.length).toBeGreaterThan(0)
    expect(published(out, 'vote').some(v => v.attempt >= 4 && v.approve)).toBe(true)
    expect(only(out, 'model-accepted')).toHaveLength(0)
    // a QC naming the full electorate of another seal, or the reduced electorate of a seal before the record: no
    qcs.grant({ ...sealed[0], attempt: 2 }, ['p0'])
    expect(only(d.tick(0), 'model-accepted')).toHaveLength(0)
    // the QC naming {p0} for the sealed aggregate: adopted
    qcs.grant(sealed[0], ['p0'])
    const step = d.tick(0)
    expect(only(step, 'model-accepted')).toMatchObject([{ round: 0, modelCid: sealed[0].aggregateCid }])
    expect(d.m.view().round).toBe(1)
  })

  it('exposes the record that applies (the shell proposes to the reduced electorate too)', () => {
    const { d } = creatorOfTwo()
    expect(d.m.reducedElectorate()).toEqual({ fromAttempt: 4, electorate: ['p0'] })
  })
})

/**
 * p1 in a round-0 electorate of four (p0 the creator signs {p1, p2} from attempt 5): at attempt 6 aggregator p2 seals S;
 * `approvers` approve it on the training topic and the test grants `qc` (an electorate) for it.
 */
function fourVoters (withRecord: boolean, approvers: string[], qc: string[] | null): boolean {
  const job = jobWith({ minParticipants: 2 })
  const qcs = new Qcs()
  const d = new Driver('p1', job, new ConsensusSealAcceptance(qcs.has))
  const peers = ['p0', 'p1', 'p2', 'p3']
  d.setup(true, peers)
  d.deltas(peers)
  if (withRecord) d.msg('p0', record(job, ['p1', 'p2'], 5))
  const at = 6
  expect(d.m.aggregatorFor(0, at)).toBe('p2')
  while (d.m.view().attempt < at) d.tick(3000)
  const seal = sealOf(job, peers, { attempt: at, aggregateCid: cid('S6'), baseModelCid: M0 })
  const out = d.msg('p2', seal)
  out.push(...d.send({ kind: 'seal-verified', round: 0, attempt: at, aggregateCid: seal.aggregateCid, ok: approvers.includes('p1') }))
  for (const p of approvers.filter(p => p !== 'p1')) out.push(...d.msg(p, voteMsg(seal, true)))
  if (qc != null) qcs.grant(seal, qc)
  out.push(...d.tick(0))
  return only(out, 'model-accepted').length === 1
}

describe('which certificates adopt a seal', () => {
  it.each([
    ['the reduced electorate approved, no QC', true, ['p1', 'p2'], null, false],
    ['the reduced electorate approved, a QC naming it', true, ['p1', 'p2'], ['p1', 'p2'], true],
    ['a QC naming it, but p2 did not approve here (a QC may hold 2/3 of it only)', true, ['p1'], ['p1', 'p2'], false],
    ['a QC naming another subset', true, ['p1', 'p2'], ['p1', 'p3'], false],
    ['a QC naming a packed electorate', true, ['p1', 'p2'], ['p1', 'p2', 'p9'], false],
    ['no record: a QC naming {p1, p2} is no certificate of the round', false, ['p1', 'p2'], ['p1', 'p2'], false],
    ['no record: a QC naming the full electorate adopts whoever approved here', false, [], ['p0', 'p1', 'p2', 'p3'], true],
    ['no record: 2 of 4 approved, no QC', false, ['p1', 'p2'], null, false]
  ] as const)('%s', (_what, withRecord, approvers, qc, adopted) => {
    expect(fourVoters(withRecord, [...approvers], qc == null ? null : [...qc])).toBe(adopted)
  })
})

/**
 * Catch-up through consensus: a straggler p3 still at round 0 gets the seals of rounds 0-2 re-sent (intake.ts
 * `helpStraggler`). It adopts each only by a QC naming that round's electorate, the contributors of the seal before
 * (round 0: the participants), round by round; counted training votes, however many, adopt nothing.
 */
describe('a straggler catches up by certificates, not by re-tallying votes', () => {
  const peers = ['p0', 'p1', 'p2', 'p3']
  const job = jobWith({ minParticipants: 2, rounds: 6 })
  const s0 = sealOf(job, ['p0', 'p1', 'p2'], { round: 0, aggregateCid: cid('agg/0') })
  const s1 = sealOf(job, ['p0', 'p1'], { round: 1, baseModelCid: s0.aggregateCid, aggregateCid: cid('agg/1') })
  const s2 = sealOf(job, ['p0', 'p1'], { round: 2, baseModelCid: s1.aggregateCid, aggregateCid: cid('agg/2') })
  const electorates = [peers, ['p0', 'p1', 'p2'], ['p0', 'p1']]

  function straggler (qcs: Qcs): Driver {
    const d = new Driver('p3', job, new ConsensusSealAcceptance(qcs.has))
    d.setup(true, peers)
    return d
  }
  const adopted = (out: JobAction[]): number[] => only(out, 'model-accepted').map(a => a.round)

  it('adopts the three rounds in order once each has its QC', () => {
    const qcs = new Qcs()
    ;[s0, s1, s2].forEach((s, i) => { qcs.grant(s, electorates[i]) })
    const d = straggler(qcs)
    const out = [s0, s1, s2].flatMap(s => d.msg('p0', s))
    expect(adopted(out)).toEqual([0, 1, 2])
    expect(d.m.view()).toMatchObject({ round: 3, electorate: ['p0', 'p1'], baseModelCid: s2.aggregateCid })
  })

  it('adopts nothing on every electorate member\'s counted approval without QCs', () => {
    const d = straggler(new Qcs())
    const out = [s0, s1, s2].flatMap(s => [...d.msg('p0', s), ...d.votes(s, peers)])
    expect(adopted(out)).toEqual([])
    expect(d.m.view().round).toBe(0)
  })

  it.each([
    ['round 1 has no QC', [0, 2], [0]],
    ['round 1\'s only QC names a packed electorate, not round 0\'s contributors', [0, 2], [0]]
  ] as const)('stops where the chain of certificates breaks: %s', (what, certified, rounds) => {
    const qcs = new Qcs()
    for (const i of certified) qcs.grant([s0, s1, s2][i], electorates[i])
    if (what.includes('packed')) qcs.grant(s1, ['p0', 'p1', 'p2', 'p3', 'p9'])
    const d = straggler(qcs)
    const out = [s0, s1, s2].flatMap(s => d.msg('p0', s))
    expect(adopted(out)).toEqual([...rounds])
    // a QC that arrives later is taken at the next step
    qcs.grant(s1, electorates[1])
    expect(adopted(d.tick(0))).toEqual([1, 2])
  })

  it('a restarted straggler resumes from its snapshot and the QCs held by consensus', () => {
    const qcs = new Qcs()
    qcs.grant(s0, electorates[0])
    const d = straggler(qcs)
    expect(adopted(d.msg('p0', s0))).toEqual([0])
    const snapshot = d.m.snapshot()
    // the process dies; consensus (its store, synced from peers) holds the QCs of rounds 1 and 2 at the restart
    qcs.grant(s1, electorates[1])
    qcs.grant(s2, electorates[2])
    const back = new Driver('p3', job, new ConsensusSealAcceptance(qcs.has))
    back.m.restore(snapshot)
    back.m.resume(back.now)
    expect(back.m.view().round).toBe(1)
    const out = [s1, s2].flatMap(s => back.msg('p0', s))
    expect(adopted(out)).toEqual([1, 2])
  })
})
