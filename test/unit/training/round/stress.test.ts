import { describe, it, expect } from 'vitest'
import { createRng } from '../../../../src/training/core/index.js'
import { Sim, verdict } from './sim.js'

describe('round protocol under lossy gossip (simulation, seeded)', () => {
  it.each(Array.from({ length: 12 }, (_, i) => i + 1))('6 nodes, 3 to 10 percent message loss, one crash and restart (seed %i)', seed => {
    const rng = createRng(seed)
    const sim = new Sim(6, { job: { rounds: 5, minParticipants: 3 }, behaviour: () => ({ trainMs: 800 + rng.int(600) }) })
    const loss = seed % 3 === 0 ? 0.1 : 0.03
    sim.latency = () => (rng.next() < loss ? Number.MAX_SAFE_INTEGER : 5 + rng.int(400))
    sim.joinAll()
    const node = sim.nodes[seed % 6]
    sim.run(() => node.log.accepted.length >= 1, 600_000)
    const snapshot = sim.crash(node)
    sim.run(() => sim.nodes[(seed + 1) % 6].log.accepted.length >= 3, 600_000)
    sim.restart(node, seed % 2 === 0 ? JSON.parse(JSON.stringify(snapshot)) : null)
    sim.run(() => sim.allFinished(), 1_200_000)
    expect(verdict(sim, 5)).toBeNull()
  })

  it.each(Array.from({ length: 8 }, (_, i) => i + 1))('7 nodes with a liar, an equivocator, a straggler, a silent aggregator and 5 percent loss (seed %i)', seed => {
    const rng = createRng(100 + seed)
    const sim = new Sim(7, {
      job: { rounds: 4, minParticipants: 4 },
      behaviour: i => ({ trainMs: 800 + rng.int(600), ...(i === 2 ? { wrongSeal: true } : i === 5 ? { equivocate: true } : i === 6 ? { trainMs: 60_000 } : i === 3 ? { silentAggregator: true } : {}) })
    })
    sim.latency = () => (rng.next() < 0.05 ? Number.MAX_SAFE_INTEGER : 5 + rng.int(seed % 2 === 0 ? 1500 : 300))
    sim.joinAll()
    sim.run(() => sim.allFinished(), 900_000)
    expect(verdict(sim, 4)).toBeNull()
  })
})
