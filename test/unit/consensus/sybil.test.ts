import { describe, it, expect } from 'vitest'
import { runSybilScenario } from '../../../bench/fixtures/sybil-scenario.js'
import { P } from './fixtures.js'

describe('6 honest peers with earned training history against fresh identities', () => {
  it.each([14, 140])('%s sybils with half the honest compute: <= 10% every epoch, no QC alone, honest proposals pass', (n) => {
    const epochs = runSybilScenario({ honest: 6, sybils: n, attackEpochs: 40 })
    // the honest weight is earned: genesis names nobody, 12 epochs of accepted seals made all 6 established
    expect(epochs[0].honestOnProbation).toBe(0)
    expect(BigInt(epochs[0].honestWorkCredited)).toBe(6n * 24n * P.workUnit)
    expect(epochs[0].sybilsInTable).toBe(0)
    for (const e of epochs) {
      expect(e.sybilShareBps).toBeLessThanOrEqual(1_000)
      expect(e.sybilOnlyQc).toBe(false)
      expect(e.sybilProposal).toBe('rejected')
      expect(e.honestProposal).toBe('accepted')
    }
    // not vacuous: the sybils do hold weight, and the pool cap is what keeps it at 10%
    expect(Math.max(...epochs.map(e => e.sybilShareBps))).toBeGreaterThan(500)
    expect(Math.max(...epochs.map(e => e.sybilRawShareBps))).toBeGreaterThan(1_000)
  })

  it('sybils with as much accepted work each as an honest peer: capped at 10% while on probation', () => {
    const epochs = runSybilScenario({ honest: 6, sybils: 14, attackEpochs: P.probationEpochs + 2, attackerDeltasPerRound: 'all' })
    let onProbation = 0
    for (const e of epochs) {
      if (e.sybilsInTable > 0 && e.sybilsOnProbation === e.sybilsInTable) {
        onProbation++
        expect(e.sybilShareBps).toBeLessThanOrEqual(1_000)
        expect(e.sybilOnlyQc).toBe(false)
        expect(e.honestProposal).toBe('accepted')
      }
    }
    expect(onProbation).toBeGreaterThan(0)
    expect(Math.max(...epochs.map(e => e.sybilRawShareBps))).toBeGreaterThan(3_000) // the cap binds hard: 40% raw, 10% counted
  })

  it('is deterministic: two runs hash the same every epoch', () => {
    const a = runSybilScenario({ honest: 6, sybils: 14, attackEpochs: 10 })
    const b = runSybilScenario({ honest: 6, sybils: 14, attackEpochs: 10 })
    expect(b.map(e => e.hash)).toEqual(a.map(e => e.hash))
  })
})
