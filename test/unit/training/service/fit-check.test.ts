import { describe, expect, it } from 'vitest'
import { checkDatasetFits, datasetFitIssue } from '../../../../src/training/service/fit-check.js'
import type { ModelSpec } from '../../../../src/training/protocol/job-schema.js'

// defect 4 (issue 11): a model with 3 outputs was accepted for the 10-class digits and hung silently
describe('datasetFitIssue', () => {
  const mlp = (out: number): ModelSpec => ({ arch: 'mlp', layers: [16, out], seed: 0 })
  it.each<[string, ModelSpec, number[] | undefined, { features: number, classes: number }, RegExp | undefined]>([
    ['fits', mlp(10), [64], { features: 64, classes: 10 }, undefined],
    ['more outputs than classes is trainable', mlp(12), undefined, { features: 64, classes: 10 }, undefined],
    ['an output of 3 on 10 classes', mlp(3), [64], { features: 64, classes: 10 }, /dataset d has 10 classes \(labels 0..9\); the model's output layer has 3 units: it needs at least 10/],
    ['a cnn of 10 on 5001 classes', { arch: 'cnn', seed: 0, inputShape: [8, 8, 1], classes: 10 }, [8, 8, 1], { features: 64, classes: 5001 }, /5001 classes/],
    ['features', mlp(10), [784], { features: 64, classes: 10 }, /dataset d has 64 features; the job's model takes 784 = 784 inputs/]
  ])('%s', (_n, model, shape, ds, want) => {
    const issue = datasetFitIssue(model, shape, { name: 'd', ...ds })
    if (want === undefined) expect(issue).toBeUndefined()
    else {
      expect(issue).toMatch(want)
      expect(() => checkDatasetFits(model, shape, { name: 'd', ...ds })).toThrow(expect.objectContaining({ code: 'ERR_DATASET', kind: 'invalid' }))
    }
  })
})
