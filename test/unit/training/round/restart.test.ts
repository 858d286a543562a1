/**
 * Issue 11, defect 1: nodes stopped (SIGTERM: the step in hand finishes; SIGKILL: the step's snapshot is on disk but
 * its actions and in-flight messages are lost) at any point of a round and restarted from their snapshot; the job must
 * still finish, with one model per round on every node. A seeded sweep over rounds, the victim's action count (every
 * phase: collecting, training, closing, aggregating, sealing, verifying, voting, promising), kill kinds and restart
 * delays.
 */
import { describe, it, expect } from 'vitest'
import { createRng } from '../../../../src/training/core/index.js'
import { Sim, verdict, type KillKind, type SimNode } from './sim.js'

export interface RestartCase { seed: number, nodes: number, minParticipants: number, victims: number, kind: KillKind, round: number, afterActions: number, downMs: number }

const DOWN_MS = [0, 400, 2500, 7000, 25_000]

/** The case of one seed: which nodes die, when (round, how many of their actions into it), how, and for how long. */
export function restartCase (seed: number, five: boolean): RestartCase {
  const rng = createRng(seed)
  return {
    seed,
    nodes: five ? 5 : 3,
    minParticipants: five ? 3 : 2,
    victims: five ? 2 : 1,
    kind: seed % 2 === 0 ? 'sigterm' : 'sigkill',
    round: 1 + rng.int(3),
    afterActions: rng.int(14),
    downMs: DOWN_MS[rng.int(DOWN_MS.length)]
  }
}

/** Run one case to the end; returns the verdict and the simulated time taken. */
export function runRestartCase (c: RestartCase, jitter = true): { verdict: string | null, ms: number, killed: string[] } {
  const rng = createRng(1000 + c.seed)
  const rounds = 5
  const sim = new Sim(c.nodes, { job: { rounds, minParticipants: c.minParticipants }, behaviour: () => ({ trainMs: 700 + rng.int(800) }) })
  if (jitter) sim.latency = () => 5 + rng.int(150)
  sim.joinAll()
  const victims: SimNode[] = rng.shuffle([...sim.nodes]).slice(0, c.victims)
  const start = sim.now
  // reach the round (as the victims see it), then arm the kills
  sim.run(() => victims.every(v => v.machine.view().round >= c.round) || sim.allFinished(), 600_000)
  for (const [i, v] of victims.entries()) {
    v.actions = 0
    v.kill = { kind: c.kind, afterActions: c.afterActions + 3 * i }
  }
  sim.run(() => victims.every(v => v.kill?.done != null) || sim.allFinished(), 600_000)
  const killed = victims.filter(v => v.kill?.done != null)
  for (const v of killed) {
    const snap = v.kill?.done
    sim.runUntil(sim.now + c.downMs)
    sim.restart(v, JSON.parse(JSON.stringify(snap)))
  }
  sim.run(() => sim.allFinished(), 1_200_000)
  return { verdict: verdict(sim, rounds), ms: sim.now - start, killed: killed.map(v => v.id) }
}

describe('nodes killed at any phase of a round and restarted (simulation, seeded sweep)', () => {
  const seeds = Array.from({ length: 60 }, (_, i) => i + 1)
  it.each(seeds)('1 of 3 (minParticipants 2), seed %i', seed => {
    const c = restartCase(seed, false)
    const r = runRestartCase(c)
    expect(r.verdict, JSON.stringify(c)).toBeNull()
  })
  it.each(seeds)('2 of 5 (minParticipants 3), seed %i', seed => {
    const c = restartCase(seed, true)
    const r = runRestartCase(c)
    expect(r.verdict, JSON.stringify(c)).toBeNull()
  })
})

/**
 * Lost for good (issue 11): the victims never come back (SIGKILL) or leave the job (`train leave`). A slow node keeps
 * missing the deadline, so every round's electorate is the fast nodes only; losing half of them leaves no majority,
 * and only the creator's electorate record (round/electorate.ts) lets the job finish on the nodes that remain.
 */
export interface LostCase { seed: number, nodes: number, victims: number, kind: 'sigkill' | 'leave', round: number, afterActions: number }

export function lostCase (seed: number, five: boolean): LostCase {
  const rng = createRng(7000 + seed)
  return { seed, nodes: five ? 5 : 3, victims: five ? 2 : 1, kind: seed % 2 === 0 ? 'leave' : 'sigkill', round: 1 + rng.int(3), afterActions: rng.int(14) }
}

export function runLostCase (c: LostCase): { verdict: string | null, victims: string[] } {
  const rng = createRng(2000 + c.seed)
  const rounds = 5
  const slow = c.nodes - 1
  // the slow node trains for longer than the deadline's cap: it contributes only once a fast voter is gone
  const sim = new Sim(c.nodes, { job: { rounds, minParticipants: 2 }, behaviour: i => ({ trainMs: i === slow ? 14_000 : 700 + rng.int(800) }) })
  sim.latency = () => 5 + rng.int(150)
  sim.joinAll()
  // never the creator (p0: the record's authority) nor the slow node
  const victims = rng.shuffle(sim.nodes.filter(n => n.index !== 0 && n.index !== slow)).slice(0, c.victims)
  sim.run(() => victims.every(v => v.machine.view().round >= c.round) || sim.allFinished(), 600_000)
  for (const [i, v] of victims.entries()) {
    v.actions = 0
    v.kill = { kind: 'sigkill', afterActions: c.afterActions + 3 * i }
  }
  if (c.kind === 'leave') {
    for (const v of victims) { v.kill = null; sim.dispatch(v, { kind: 'leave' }) }
  } else {
    sim.run(() => victims.every(v => v.kill?.done != null) || sim.allFinished(), 600_000)
  }
  sim.run(() => sim.nodes.filter(n => n.online && !victims.includes(n)).every(n => n.log.finished != null), 1_800_000)
  return { verdict: verdict(sim, rounds, victims), victims: victims.map(v => v.id) }
}

describe('voters lost for good (simulation, seeded): the creator names the live half', () => {
  const seeds = Array.from({ length: 16 }, (_, i) => i + 1)
  it.each(seeds)('1 of 3 (minParticipants 2, one slow node), seed %i', seed => {
    const c = lostCase(seed, false)
    expect(runLostCase(c).verdict, JSON.stringify(c)).toBeNull()
  })
  it.each(seeds.slice(0, 8))('2 of 5 (an electorate of four halved), seed %i', seed => {
    const c = lostCase(seed, true)
    expect(runLostCase(c).verdict, JSON.stringify(c)).toBeNull()
  })
})
