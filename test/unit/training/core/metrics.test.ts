import { describe, it, expect } from 'vitest'
import { classificationMetrics, crossEntropy } from '../../../../src/training/core/metrics.js'

describe('classificationMetrics', () => {
  it.each<[string, number[], number[], number, { accuracy: number, macroPrecision: number, macroRecall: number, macroF1: number }]>([
    ['perfect', [0, 1, 2], [0, 1, 2], 3, { accuracy: 1, macroPrecision: 1, macroRecall: 1, macroF1: 1 }],
    ['all wrong', [0, 1], [1, 0], 2, { accuracy: 0, macroPrecision: 0, macroRecall: 0, macroF1: 0 }],
    // class 0: tp 1, pred 2, true 2 -> P 1/2 R 1/2 F1 1/2; class 1: tp 1, pred 1, true 2 -> P 1 R 1/2 F1 2/3;
    // class 2: tp 1, pred 2, true 1 -> P 1/2 R 1 F1 2/3
    ['hand-computed 3-class', [0, 0, 1, 1, 2], [0, 2, 1, 0, 2], 3,
      { accuracy: 3 / 5, macroPrecision: (0.5 + 1 + 0.5) / 3, macroRecall: (0.5 + 0.5 + 1) / 3, macroF1: (0.5 + 2 / 3 + 2 / 3) / 3 }],
    // class 2 never appears: skipped. class 1 predicted but never true: P 0, R 0 (0/0), F1 0
    ['absent class skipped, zero-division is 0', [0, 0, 0], [0, 0, 1], 3,
      { accuracy: 2 / 3, macroPrecision: (1 + 0) / 2, macroRecall: (2 / 3 + 0) / 2, macroF1: (0.8 + 0) / 2 }],
    ['empty', [], [], 4, { accuracy: 0, macroPrecision: 0, macroRecall: 0, macroF1: 0 }]
  ])('%s', (_n, yTrue, yPred, k, want) => {
    const m = classificationMetrics(yTrue, yPred, k)
    expect(m.accuracy).toBeCloseTo(want.accuracy, 12)
    expect(m.macroPrecision).toBeCloseTo(want.macroPrecision, 12)
    expect(m.macroRecall).toBeCloseTo(want.macroRecall, 12)
    expect(m.macroF1).toBeCloseTo(want.macroF1, 12)
  })

  it('builds confusion[true][pred]', () => {
    expect(classificationMetrics(Uint8Array.of(0, 0, 1, 1, 2), [0, 2, 1, 0, 2], 3).confusion).toEqual([[1, 0, 1], [1, 1, 0], [0, 0, 1]])
  })

  it.each<[string, number[], number[], number, string]>([
    ['length mismatch', [0, 1], [0], 2, 'ERR_SHAPE'],
    ['label out of range', [0, 2], [0, 1], 2, 'ERR_ARGUMENT'],
    ['negative prediction', [0, 1], [0, -1], 2, 'ERR_ARGUMENT'],
    ['fractional label', [0.5], [0], 2, 'ERR_ARGUMENT'],
    ['zero classes', [], [], 0, 'ERR_ARGUMENT']
  ])('rejects %s', (_n, t, p, k, code) => {
    expect(() => classificationMetrics(t, p, k)).toThrow(expect.objectContaining({ code }))
  })
})

describe('crossEntropy', () => {
  it.each<[string, number[], number[], number, number]>([
    ['certain and right', [1, 0, 0, 1], [0, 1], 2, 0],
    ['uniform over 4', [0.25, 0.25, 0.25, 0.25], [3], 4, Math.log(4)],
    ['mean of two samples', [0.5, 0.5, 0.9, 0.1], [0, 0], 2, (Math.log(2) - Math.log(Math.fround(0.9))) / 2],
    ['zero probability clamps to epsilon', [1, 0], [1], 2, -Math.log(1e-7)],
    ['empty', [], [], 3, 0]
  ])('%s', (_n, probs, labels, k, want) => {
    expect(crossEntropy(Float32Array.from(probs), labels, k)).toBeCloseTo(want, 10)
  })

  it.each<[string, number[], number[], number, string]>([
    ['shape mismatch', [0.5, 0.5, 1], [0], 2, 'ERR_SHAPE'],
    ['label out of range', [0.5, 0.5], [2], 2, 'ERR_ARGUMENT'],
    ['NaN probability', [NaN, 1], [0], 2, 'ERR_NONFINITE']
  ])('rejects %s', (_n, probs, labels, k, code) => {
    expect(() => crossEntropy(Float32Array.from(probs), labels, k)).toThrow(expect.objectContaining({ code }))
  })
})
