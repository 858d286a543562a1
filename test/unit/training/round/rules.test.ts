import { describe, it, expect } from 'vitest'
import { checkSeal, closeDue, median, roundDeadline, sealDigest, sealMetrics, usableDeltas } from '../../../../src/training/round/rules.js'
import { newRound } from '../../../../src/training/round/state.js'
import type { DeltaEntry, RoundState } from '../../../../src/training/round/types.js'
import { JOB, M0, T0, cid, dcid, sealOf } from './driver.js'

function entry (peerId: string, arrivedAt: number, over: Partial<DeltaEntry> = {}): DeltaEntry {
  return { round: 0, peerId, cid: dcid(peerId), baseModelCid: M0, samples: 100, bytes: 64, metrics: { loss: 0.5, accuracy: 0.6 }, arrivedAt, ...over }
}

function round (deltas: DeltaEntry[], over: Partial<RoundState> = {}): RoundState {
  return { ...newRound(0, M0, null, T0), deltas, ...over }
}

describe('round rules', () => {
  it.each<[number[], number]>([[[3], 3], [[3, 1], 2], [[5, 1, 3], 3], [[4, 1, 3, 2], 2.5], [[0.1, 0.7, 0.2], 0.2]])('median of %j is %d', (xs, want) => {
    expect(median(xs)).toBe(want)
  })

  it('seal metrics are the medians of loss and accuracy: one liar cannot move them far', () => {
    const ms = [{ loss: 0.5, accuracy: 0.6 }, { loss: 0.4, accuracy: 0.62 }, { loss: 0, accuracy: 1 }]
    expect(sealMetrics(ms.map(metrics => ({ metrics })))).toEqual({ loss: 0.4, accuracy: 0.62 })
  })

  it('usable deltas leave out equivocators and invalid ones, sorted by cid, one per cid', () => {
    const same = dcid('shared')
    const r = round([entry('p0', 0), entry('p1', 0), entry('p2', 0), entry('p4', 0, { cid: same }), entry('p3', 0, { cid: same })], {
      equivocators: ['p1'],
      invalid: [dcid('p2')]
    })
    const u = usableDeltas(r)
    expect(u.map(d => d.cid)).toEqual([dcid('p0'), same].sort())
    expect(u.find(d => d.cid === same)?.peerId).toBe('p3')
  })

  it('the deadline is the start plus the clamped adaptive deadline of arrival offsets', () => {
    expect(roundDeadline(round([]), JOB)).toBe(T0 + 10_000) // no arrivals: the cap
    expect(roundDeadline(round([entry('p0', T0 + 2000), entry('p1', T0 + 2100), entry('p2', T0 + 2200)]), JOB)).toBe(T0 + 2100 + 300)
    expect(roundDeadline(round([], { startedAt: null }), JOB)).toBeNull()
  })

  it.each<[string, RoundState, string[], number, boolean]>([
    ['not started', round([entry('p0', T0), entry('p1', T0), entry('p2', T0)], { startedAt: null }), ['p0', 'p1', 'p2'], T0 + 1e6, false],
    ['already closed', round([entry('p0', T0), entry('p1', T0), entry('p2', T0)], { closedAt: T0 }), ['p0', 'p1', 'p2'], T0 + 1e6, false],
    ['everyone delivered', round([entry('p0', T0), entry('p1', T0), entry('p2', T0)]), ['p0', 'p1', 'p2'], T0, true],
    ['everyone delivered, but too few usable', round([entry('p0', T0), entry('p1', T0), entry('p2', T0)], { equivocators: ['p2'] }), ['p0', 'p1', 'p2'], T0 + 1e6, false],
    ['a straggler, before the deadline', round([entry('p0', T0), entry('p1', T0), entry('p2', T0)]), ['p0', 'p1', 'p2', 'p3'], T0 + 1499, false],
    ['a straggler, at the deadline', round([entry('p0', T0), entry('p1', T0), entry('p2', T0)]), ['p0', 'p1', 'p2', 'p3'], T0 + 1500, true],
    ['too few deltas, long after the cap', round([entry('p0', T0), entry('p1', T0)]), ['p0', 'p1', 'p2'], T0 + 1e6, false]
  ])('closeDue: %s', (_n, r, participants, now, want) => {
    expect(closeDue(r, participants, JOB, now)).toBe(want)
  })

  it('checkSeal waits for listed deltas it has not seen and refuses a foreign base', () => {
    const r = round([entry('p0', T0), entry('p1', T0)])
    expect(checkSeal(sealOf(JOB, ['p0', 'p1', 'p2']), r, JOB)).toEqual({ kind: 'wait', missing: [dcid('p2')] })
    expect(checkSeal(sealOf(JOB, ['p0', 'p1', 'p2'], { baseModelCid: cid('x') }), r, JOB)).toMatchObject({ kind: 'bad', reason: 'wrong-base' })
    r.deltas.push(entry('p2', T0))
    expect(checkSeal(sealOf(JOB, ['p0', 'p1', 'p2']), r, JOB)).toEqual({ kind: 'ok' })
  })

  it('a seal digest ignores key order but not content', () => {
    const s = sealOf(JOB, ['p0', 'p1', 'p2'])
    const reordered = Object.fromEntries(Object.entries(s).reverse()) as typeof s
    expect(sealDigest(reordered)).toBe(sealDigest(s))
    expect(sealDigest({ ...s, attempt: 1 })).not.toBe(sealDigest(s))
    expect(sealDigest({ ...s, metrics: { ...s.metrics, accuracy: 0.7 } })).not.toBe(sealDigest(s))
  })
})
