import { describe, expect, it } from 'vitest'
import { poolEvaluations, targetRound, withEvaluation, type NodeEvaluation } from '../../../../src/training/service/pooled.js'
import { RoundReports } from '../../../../src/training/service/reports.js'
import { EventBus } from '../../../../src/common/events.js'
import { silentLogger } from '../../../../src/common/logger.js'
import { ManualClock } from '../../../../src/common/clock.js'
import type { JobRuntime } from '../../../../src/training/service/runtime.js'
import type { LocalData } from '../../../../src/training/service/local-data.js'
import type { ModelEval, RoundSeal } from '../../../../src/training/protocol/messages.js'

const ev = (peerId: string, accuracy: number, samples: number): NodeEvaluation => ({ peerId, accuracy, loss: 1 - accuracy, samples })

// issue 11, defects 2 and 3: one accuracy figure, the accepted model pooled over the contributors' held-out splits
describe('poolEvaluations', () => {
  it.each<[string, NodeEvaluation[], string[], { accuracy: number, nodes: number, samples: number } | null]>([
    ['nothing yet', [], ['a', 'b'], null],
    ['weighted by rows, not a median', [ev('a', 0.9, 100), ev('b', 1, 300), ev('c', 0.5, 10)], ['a', 'b', 'c'], { accuracy: (90 + 300 + 5) / 410, nodes: 3, samples: 410 }],
    ['non-contributors left out', [ev('a', 0.9, 100), ev('x', 0, 1000)], ['a', 'b'], { accuracy: 0.9, nodes: 1, samples: 100 }]
  ])('%s', (_n, evals, contributors, want) => {
    const p = poolEvaluations(evals, contributors)
    if (want == null) expect(p).toBeNull()
    else expect(p).toMatchObject({ ...want, accuracy: expect.closeTo(want.accuracy, 12), of: contributors.length })
  })

  it('keeps one evaluation per peer, the latest', () => {
    expect(withEvaluation([ev('b', 0.1, 1), ev('a', 0.2, 1)], ev('b', 0.3, 2))).toEqual([ev('a', 0.2, 1), ev('b', 0.3, 2)])
  })
})

// issue 11, defect 2: the one target rule (the creator stops the job on it; the round machine no longer judges a median)
describe('targetRound', () => {
  const pooled = (round: number, accuracy: number, nodes: number, of: number): { round: number, pooled: { accuracy: number, loss: number, samples: number, nodes: number, of: number } } =>
    ({ round, pooled: { accuracy, loss: 0.1, samples: 100, nodes, of } })
  it.each<[string, Array<{ round: number, pooled?: ReturnType<typeof pooled>['pooled'] | null }>, number | undefined]>([
    ['nobody reported yet', [{ round: 0, pooled: null }, { round: 1 }], undefined],
    ['below the target', [pooled(0, 0.5, 3, 3), pooled(1, 0.89, 3, 3)], undefined],
    ['every contributor reported, at the target', [pooled(0, 0.5, 3, 3), pooled(1, 0.9, 3, 3)], 1],
    ['the first round at the target', [pooled(0, 0.95, 2, 2), pooled(1, 0.97, 2, 2)], 0],
    ['not all reported, no later round yet: wait', [pooled(0, 0.95, 2, 3), pooled(1, 0.5, 1, 3)], undefined],
    ['a majority reported and two rounds sealed since: a dead contributor does not block it', [pooled(0, 0.95, 2, 3), pooled(1, 0.5, 3, 3), pooled(2, 0.5, 3, 3)], 0],
    ['a minority reported: never enough', [pooled(0, 0.95, 1, 3), pooled(1, 0.5, 3, 3), pooled(2, 0.5, 3, 3)], undefined]
  ])('%s', (_n, reports, want) => {
    expect(targetRound(reports, 0.9)?.round).toBe(want)
  })
})

describe('RoundReports', () => {
  const seal = { type: 'seal', jobId: 'j', round: 0, attempt: 0, baseModelCid: 'm0', deltas: [{ cid: 'd1', peerId: 'a', samples: 10 }, { cid: 'd2', peerId: 'self', samples: 10 }], aggregateCid: 'm1', modelHash: 'h', metrics: { loss: 0.1, accuracy: 0.99 } } as RoundSeal
  const job = (): JobRuntime => ({ spec: { id: 'j' }, reports: [], bytes: { sent: 0, received: 0 }, roundStartedAt: 0, data: { test: { y: new Int32Array(40) } } as unknown as LocalData, machine: { view: () => ({ round: 1, participants: ['a', 'self'] }) } } as unknown as JobRuntime)

  it('reports no accuracy when evaluating the accepted model fails: the seal\'s median of local accuracies never stands in', async () => {
    const reports = new RoundReports({ evaluate: async () => { throw new Error('tf broke') }, events: new EventBus(), logger: silentLogger, clock: new ManualClock(0), self: 'self' })
    const r = await reports.measure(job(), 0, 'm1', 'h', seal)
    expect(r.accuracy).toBeNaN()
    expect(r.accuracy).not.toBe(seal.metrics.accuracy)
    expect(r.pooled).toBeNull()
  })

  it('evaluates on this node, publishes it, and pools the contributors\' evaluations as they arrive', async () => {
    const sent: ModelEval[] = []
    const reports = new RoundReports({
      evaluate: async () => ({ accuracy: 0.8, loss: 0.5, f1: 0.7, precision: 0.7, recall: 0.7, predictions: new Int32Array(0), confusion: [] }),
      publish: async m => { sent.push(m) }, events: new EventBus(), logger: silentLogger, clock: new ManualClock(0), self: 'self'
    })
    const j = job()
    // a peer's evaluation that arrives before this node's report is kept for it
    reports.addEvaluation(j, 'a', { type: 'eval', jobId: 'j', round: 0, modelCid: 'm1', accuracy: 1, loss: 0, samples: 10 })
    const r = await reports.measure(j, 0, 'm1', 'h', seal)
    expect(r.accuracy).toBe(0.8)
    expect(sent).toEqual([{ type: 'eval', jobId: 'j', round: 0, modelCid: 'm1', accuracy: 0.8, loss: 0.5, samples: 40 }])
    expect(r.pooled).toMatchObject({ accuracy: (10 + 32) / 50, nodes: 2, of: 2, samples: 50 })
    // an evaluation of another model is not this round's
    expect(reports.addEvaluation(j, 'a', { type: 'eval', jobId: 'j', round: 0, modelCid: 'other', accuracy: 0, loss: 9, samples: 1000 })).toBe(false)
    // nor is a peer's that did not contribute to the round
    expect(reports.addEvaluation(j, 'stranger', { type: 'eval', jobId: 'j', round: 0, modelCid: 'm1', accuracy: 0, loss: 9, samples: 1000 })).toBe(false)
    expect(j.reports[0].evaluations?.map(e => e.peerId)).toEqual(['a', 'self'])
    expect(reports.addEvaluation(j, 'a', { type: 'eval', jobId: 'j', round: 0, modelCid: 'm1', accuracy: 0.5, loss: 1, samples: 10 })).toBe(true)
    expect(j.reports[0].pooled?.accuracy).toBeCloseTo((5 + 32) / 50, 12)
  })
})
