/**
 * Issue 11, defects 5 and 6 at the far end: the standardisation stored at import is applied to raw rows at predict
 * time, and the class names travel to predictions and to the exported model's meshnode.json.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DatasetStore, parseCsv, standardize } from '../../../../src/training/data/index.js'
import { exportModel, predictRows } from '../../../../src/training/service/model-use.js'
import type { JobRuntime } from '../../../../src/training/service/runtime.js'
import type { RoundWork } from '../../../../src/training/service/work.js'

describe('using a job\'s model', () => {
  let dir: string
  let store: DatasetStore
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'meshnode-model-use-'))
    store = new DatasetStore(dir)
    await store.save('wine', standardize(parseCsv('a,b,kind\n1,100,red\n3,300,white\n5,500,red\n', { name: 'wine' })))
  })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  const job = { spec: { id: 'j'.repeat(64), dataset: 'wine', model: { arch: 'mlp', layers: [4, 2], seed: 1 } }, join: { dataset: 'wine' }, inputShape: [2], machine: { view: () => ({ round: 7, baseModelCid: 'bafym7' }) } } as unknown as JobRuntime

  it('standardises raw rows with the stored mean and scale, and names the predicted classes', async () => {
    const seen: Float32Array[] = []
    const work = { predict: async (_j: JobRuntime, cid: string, x: Float32Array) => { expect(cid).toBe('bafym7'); seen.push(x); return { probabilities: Float32Array.of(0.9, 0.1, 0.2, 0.8), outputs: 2 } } } as unknown as RoundWork
    const res = await predictRows(job, work, store, [[3, 300], [5, 500]])
    // mean (3, 300), population deviation (1.633, 163.3): the raw row (3, 300) is (0, 0)
    expect(Array.from(seen[0].subarray(0, 2))).toEqual([0, 0])
    expect(seen[0][2]).toBeCloseTo(2 / Math.sqrt(8 / 3), 5)
    expect(seen[0][3]).toBeCloseTo(200 / Math.sqrt(80000 / 3), 5)
    expect(res.predictions.map(p => p.label)).toEqual(['red', 'white'])
    expect(res.round).toBe(7)
    await expect(predictRows(job, work, store, [[1, 2, 3]])).rejects.toThrow(/row 1 has 3 values; the model takes 2 features/)
  })

  it('puts the class names and the standardisation in meshnode.json', async () => {
    const work = {
      loadModelWeights: async () => Float32Array.of(1, 2, 3),
      exportLayers: async () => ({ modelJson: {}, weights: new Uint8Array(0) })
    } as unknown as RoundWork
    const { meta, raw } = await exportModel(job, work, store)
    expect(meta).toMatchObject({ job: job.spec.id, round: 7, modelCid: 'bafym7', classLabels: ['red', 'white'], features: 2, classes: 2, dataset: 'wine' })
    expect(meta.standardization?.mean).toEqual([3, 300])
    expect(new TextDecoder().decode(raw.subarray(0, 4))).toBe('MND1')
  })
})
