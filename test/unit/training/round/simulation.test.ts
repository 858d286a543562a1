import { describe, it, expect } from 'vitest'
import { createRng } from '../../../../src/training/core/index.js'
import { Sim, type SimNode } from './sim.js'

/** Every node accepted the same model in every round, and that model is what the honest recomputation gives. */
function expectAgreement (sim: Sim, nodes: SimNode[] = sim.nodes, rounds = sim.job.rounds): void {
  const ref = nodes[0].log.accepted
  expect(ref.map(a => a.round)).toEqual([...Array(rounds).keys()])
  for (const n of nodes) expect(n.log.accepted).toEqual(ref)
  // each accepted model is the honest aggregate of the seal that carried it, chained on the previous one
  const seals = sim.nodes.flatMap(n => n.log.seals)
  let base = sim.job.initialModelCid
  for (const a of ref) {
    const seal = seals.find(s => s.round === a.round && s.aggregateCid === a.modelCid)
    expect(seal).toBeDefined()
    expect(seal?.baseModelCid).toBe(base)
    expect(sim.honest(seal as NonNullable<typeof seal>)).toBe(true)
    base = a.modelCid
  }
}

describe('federated round simulation (5 nodes, in memory)', () => {
  it('runs 3 rounds to completion; every node accepts the same model each round', () => {
    const sim = new Sim(5)
    sim.joinAll()
    sim.run(() => sim.allFinished())
    expectAgreement(sim)
    for (const n of sim.nodes) {
      expect(n.log.finished).toMatchObject({ reason: 'rounds', round: 2 })
      expect(n.log.penalties).toEqual([])
      expect(n.log.trains).toEqual([0, 1, 2])
    }
    // attempt 0 of round r is sealed by p(r mod 5), with every delta of the round
    const seals = sim.nodes.flatMap(n => n.log.seals)
    expect(seals.map(s => [s.round, s.attempt, s.deltas.length])).toEqual([[0, 0, 5], [1, 0, 5], [2, 0, 5]])
    expect(sim.nodes[1].log.seals.map(s => s.round)).toEqual([1])
    // all deliver within the deadline, so each round closes as soon as the last delta arrives: ~1.4 s + sealing
    expect(sim.now - 1_700_000_000_000).toBeLessThan(3 * 2000)
  })

  it('leaves a straggler out without blocking the round; it still votes and follows', () => {
    const sim = new Sim(5, { behaviour: i => (i === 3 ? { trainMs: 20_000 } : {}) })
    sim.joinAll()
    sim.run(() => sim.allFinished())
    expectAgreement(sim)
    const seals = sim.nodes.flatMap(n => n.log.seals)
    expect(seals).toHaveLength(3)
    for (const s of seals) {
      expect(s.deltas.map(d => d.peerId)).toEqual(expect.not.arrayContaining(['p3']))
      expect(s.deltas).toHaveLength(4)
    }
    // rounds closed at the adaptive deadline (~1.5 s after start), not at the straggler's 20 s nor the 10 s cap
    expect(sim.now - 1_700_000_000_000).toBeLessThan(3 * 2500)
  })

  it('replaces a silent aggregator with the next one in rotation', () => {
    // p1 seals round 1 attempt 0 but never answers
    const sim = new Sim(5, { behaviour: i => (i === 1 ? { silentAggregator: true } : {}) })
    sim.joinAll()
    sim.run(() => sim.allFinished())
    expectAgreement(sim)
    const seals = sim.nodes.flatMap(n => n.log.seals)
    expect(seals.map(s => [s.round, s.attempt])).toEqual([[0, 0], [1, 1], [2, 0]])
    expect(sim.nodes[2].log.seals.map(s => [s.round, s.attempt])).toEqual([[1, 1], [2, 0]])
    // silence is not provably malicious: nobody is penalised for it
    expect(sim.nodes.flatMap(n => n.log.penalties)).toEqual([])
  })

  it('rejects a wrong seal; the next aggregator seals and the liar is penalised', () => {
    const sim = new Sim(5, { behaviour: i => (i === 0 ? { wrongSeal: true } : {}) })
    sim.joinAll()
    sim.run(() => sim.allFinished())
    expectAgreement(sim)
    const bad = sim.nodes[0].log.seals[0]
    expect(bad).toMatchObject({ round: 0, attempt: 0 })
    expect(sim.nodes[0].log.accepted[0].modelHash).not.toBe(bad.modelHash)
    expect(sim.nodes[1].log.seals[0]).toMatchObject({ round: 0, attempt: 1 })
    for (const n of sim.nodes.slice(1)) expect(n.log.penalties).toEqual([{ peerId: 'p0', reason: 'bad-seal', round: 0 }])
  })

  it('penalises an equivocating peer and drops both of its deltas', () => {
    const sim = new Sim(5, { behaviour: i => (i === 4 ? { equivocate: true } : {}) })
    sim.joinAll()
    sim.run(() => sim.allFinished())
    expectAgreement(sim)
    for (const s of sim.nodes.flatMap(n => n.log.seals)) {
      expect(s.deltas.map(d => d.peerId).sort()).toEqual(['p0', 'p1', 'p2', 'p3'])
    }
    for (const n of sim.nodes.slice(0, 4)) {
      expect(n.log.penalties).toEqual([0, 1, 2].map(round => ({ peerId: 'p4', reason: 'equivocation-delta', round })))
    }
  })

  it.each([
    ['restored from its snapshot', true],
    ['restarted fresh', false]
  ])('a node %s catches up within one round', (_name, fromSnapshot) => {
    const sim = new Sim(5, { job: { rounds: 6 } })
    sim.joinAll()
    const node = sim.nodes[4]
    sim.run(() => node.log.accepted.length === 1)
    const snapshot = sim.crash(node)
    // away for rounds 1 and 2; the others are in round 3 when it comes back
    sim.run(() => sim.nodes[0].log.accepted.length === 3)
    expect(node.log.accepted).toHaveLength(1)
    const back = sim.now
    sim.restart(node, fromSnapshot ? JSON.parse(JSON.stringify(snapshot)) : null)
    const caughtUp = (): boolean => node.machine.view().round >= 3
    sim.run(caughtUp)
    // it reached the others' round before they sealed it (so it follows round 3 live), within one round's time
    expect(sim.nodes[0].log.accepted).toHaveLength(3)
    expect(sim.now - back).toBeLessThan(2000)
    sim.run(() => sim.allFinished())
    expect(node.log.finished).toEqual(sim.nodes[0].log.finished)
    for (const a of node.log.accepted) expect(sim.nodes[0].log.accepted).toContainEqual(a)
    expect(node.log.accepted.map(a => a.round)).toEqual(expect.arrayContaining([3, 4, 5]))
    // and it contributes again by round 4
    const seals = sim.nodes.flatMap(n => n.log.seals)
    expect(seals.find(s => s.round === 4 && sim.nodes[0].log.accepted.some(a => a.modelCid === s.aggregateCid))?.deltas.some(d => d.peerId === 'p4')).toBe(true)
    expect(sim.nodes.flatMap(n => n.log.penalties)).toEqual([])
  })

  it.each([1, 2, 3, 4, 5])('7 nodes with jittered gossip, a straggler, a liar and an equivocator agree every round (seed %i)', seed => {
    const rng = createRng(seed)
    const sim = new Sim(7, {
      job: { rounds: 4, minParticipants: 4 },
      behaviour: i => ({ trainMs: 800 + rng.int(600), ...(i === 2 ? { wrongSeal: true } : i === 5 ? { equivocate: true } : i === 6 ? { trainMs: 60_000 } : {}) })
    })
    sim.latency = () => 5 + rng.int(300)
    sim.joinAll()
    sim.run(() => sim.allFinished(), 300_000)
    expectAgreement(sim)
    const seals = sim.nodes.flatMap(n => n.log.seals)
    const accepted = new Set(sim.nodes[0].log.accepted.map(a => a.modelCid))
    for (const s of seals.filter(s => accepted.has(s.aggregateCid))) {
      expect(sim.honest(s)).toBe(true)
      expect(s.deltas.some(d => d.peerId === 'p5' || d.peerId === 'p6')).toBe(false)
      expect(s.deltas.length).toBeGreaterThanOrEqual(4)
    }
    // the liar did seal (round 2, attempt 0) and lost
    expect(sim.nodes[2].log.seals.some(s => !sim.honest(s))).toBe(true)
  })
})
