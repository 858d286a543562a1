import { describe, it, expect } from 'vitest'
import { sampleBudget, trainingFootprintMB } from '../../../../src/training/service/budget.js'

describe('work budget from profile caps', () => {
  const base = { capMs: 30_000, localEpochs: 5, batchSize: 10 }
  it.each([
    ['not measured yet: no cap', { samplesPerSec: undefined, dutyCycle: 1 }, undefined],
    ['fast node, full duty cycle', { samplesPerSec: 20_000, dutyCycle: 1 }, 60_000],
    ['edge profile trains half the time', { samplesPerSec: 20_000, dutyCycle: 0.5 }, 30_000],
    ['slow board still trains one batch', { samplesPerSec: 1, dutyCycle: 0.5 }, 10],
    ['nonsense speed is ignored', { samplesPerSec: Number.NaN, dutyCycle: 1 }, undefined]
  ])('%s', (_n, o, want) => { expect(sampleBudget({ ...base, ...o })).toBe(want) })

  it.each([
    [4810, 0, 0.07],
    [1_000_000, 0, 15.26],
    [4810, 2 ** 20, 1.07]
  ])('footprint of %i params + %i data bytes is about %f MB', (params, data, mb) => {
    expect(trainingFootprintMB(params, data)).toBeCloseTo(mb, 2)
  })
})
