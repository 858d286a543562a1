/**
 * Issue 11, defect 2: a delta announcement's metrics used to be the accuracy of the node's locally trained model, so
 * the seal's figure (and the target) judged models nobody gets. They are now the node's evaluation of the global
 * model the round starts from, on its held-out split.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../../src/training/model/backend.js'
import { buildModel, modelWeightsManifest, setFlatWeights } from '../../../../src/training/model/build.js'
import { evaluate } from '../../../../src/training/model/train.js'
import { MODEL as model, workFixture } from './work-fixtures.js'

beforeAll(async () => { await initBackend('wasm') })

describe('RoundWork.train', () => {
  it('announces the evaluation of the base (global) model on the held-out split, not of the local model', async () => {
    const { flat, baseCid, data, job, work: make } = await workFixture({ train: 600, test: 300, localEpochs: 3 })
    const work = make()

    const ev = await work.train(job, 0, baseCid)
    if (ev?.kind !== 'local-delta-ready') throw new Error('no delta')
    const m = await buildModel(model)
    setFlatWeights(m, modelWeightsManifest(m), flat)
    const base = evaluate(m, data.test)
    // the untrained base model is near chance; three local epochs take the local model far above it
    expect(base.accuracy).toBeLessThan(0.4)
    expect(ev.metrics.accuracy).toBeCloseTo(base.accuracy, 10)
    expect(ev.metrics.loss).toBeCloseTo(base.loss, 5)
    m.dispose()
    work.dispose()
  })
})
