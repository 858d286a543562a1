import { beforeAll, describe, expect, it } from 'vitest'
import { trainTestSplit } from '../../../../src/training/core/partition.js'
import { modelHash } from '../../../../src/training/core/delta.js'
import { loadBuiltin } from '../../../../src/training/data/builtin.js'
import { subset, type Dataset } from '../../../../src/training/data/dataset.js'
import { initBackend, tf } from '../../../../src/training/model/backend.js'
import { measureTrainingSpeed } from '../../../../src/training/model/benchmark.js'
import { buildModel, getFlatWeights } from '../../../../src/training/model/build.js'
import { modelPreset, type ModelSpec } from '../../../../src/training/model/spec.js'
import { evaluate, trainLocal, type TrainProgress } from '../../../../src/training/model/train.js'

const spec: ModelSpec = { arch: 'mlp', layers: [64, 10], seed: 11 }
let train: Dataset
let test: Dataset

beforeAll(async () => {
  await initBackend('wasm')
  const digits = await loadBuiltin('digits')
  const split = trainTestSplit(digits.y.length, 0.2, 5)
  train = subset(digits, split.train)
  test = subset(digits, split.test)
})

describe('trainLocal + evaluate', () => {
  it('a 64-64-10 MLP trained centrally on the digits train split reaches >= 0.9 test accuracy, without leaking tensors', async () => {
    const model = await buildModel(spec, train)
    const untrained = evaluate(model, test)
    const before = tf.memory().numTensors
    const r = await trainLocal(model, train, { epochs: 8, batchSize: 32, learningRate: 0.1, seed: 1 })
    expect(tf.memory().numTensors).toBe(before)
    expect(r.samples).toBe(train.y.length)
    expect(r.steps).toBe(8 * Math.ceil(train.y.length / 32))
    expect(r.loss).toBeLessThan(0.5)
    expect(r.durationMs).toBeGreaterThan(0)
    const ev = evaluate(model, test)
    expect(tf.memory().numTensors).toBe(before)
    expect(untrained.accuracy).toBeLessThan(0.5)
    expect(ev.accuracy).toBeGreaterThanOrEqual(0.9)
    expect(ev.f1).toBeGreaterThanOrEqual(0.88)
    expect(ev.loss).toBeLessThan(untrained.loss)
    // the reported accuracy is the one the predictions give
    expect(ev.predictions.length).toBe(test.y.length)
    const correct = ev.predictions.reduce((n, p, i) => n + (p === test.y[i] ? 1 : 0), 0)
    expect(ev.accuracy).toBeCloseTo(correct / test.y.length, 12)
    expect(ev.confusion.flat().reduce((a, b) => a + b, 0)).toBe(test.y.length)
    model.dispose()
  })

  it('replays bit for bit with the same seed on the same backend; another seed differs', async () => {
    const run = async (seed: number): Promise<string> => {
      const m = await buildModel(spec, train)
      await trainLocal(m, subset(train, Array.from({ length: 300 }, (_, i) => i)), { epochs: 1, batchSize: 16, learningRate: 0.1, seed })
      const h = modelHash(getFlatWeights(m).flat)
      m.dispose()
      return h
    }
    const a = await run(3)
    expect(await run(3)).toBe(a)
    expect(await run(4)).not.toBe(a)
  })

  it('caps the data with maxSamples, does full-batch steps with batchSize "all", and reports progress', async () => {
    const model = await buildModel(spec, train)
    const progress: TrainProgress[] = []
    const r = await trainLocal(model, train, { epochs: 2, batchSize: 'all', learningRate: 0.1, seed: 1, maxSamples: 200, onProgress: p => progress.push(p) })
    expect(r.samples).toBe(200)
    expect(r.steps).toBe(2)
    expect(progress.map(p => [p.epoch, p.batch, p.batches])).toEqual([[0, 0, 1], [1, 0, 1]])
    model.dispose()
  })

  it('stops on abort with ERR_ABORTED and releases its tensors', async () => {
    const model = await buildModel(spec, train)
    const before = tf.memory().numTensors
    const ac = new AbortController()
    const run = trainLocal(model, train, {
      epochs: 50, batchSize: 8, learningRate: 0.05, seed: 1, signal: ac.signal,
      onProgress: p => { if (p.batch === 3) ac.abort() }
    })
    await expect(run).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    expect(tf.memory().numTensors).toBe(before)
    model.dispose()
  })

  it.each([
    [{ epochs: 0 }, /epochs/],
    [{ batchSize: 0 }, /batchSize/],
    [{ learningRate: -1 }, /learningRate/],
    [{ maxSamples: 0 }, /maxSamples/]
  ])('rejects bad options %j', async (bad, error) => {
    const model = await buildModel(spec, train)
    await expect(trainLocal(model, train, { epochs: 1, batchSize: 8, learningRate: 0.1, seed: 1, ...bad })).rejects.toThrow(error)
    model.dispose()
  })

  it('rejects data that does not fit the model', async () => {
    const model = await buildModel(spec, train)
    const narrow = { x: new Float32Array(10 * 32), y: new Int32Array(10), features: 32, classes: 10 }
    await expect(trainLocal(model, narrow, { epochs: 1, batchSize: 8, learningRate: 0.1, seed: 1 })).rejects.toMatchObject({ code: 'ERR_SHAPE' })
    const badLabel = { ...subset(train, [0, 1]), y: Int32Array.from([0, 12]) }
    expect(() => evaluate(model, badLabel)).toThrow(/label 12/)
    model.dispose()
  })

  it('refuses to train a CNN on wasm (no conv gradient kernels) with a clear error', async () => {
    const model = await buildModel(modelPreset('digits-cnn'))
    await expect(trainLocal(model, subset(train, [0, 1, 2, 3]), { epochs: 1, batchSize: 2, learningRate: 0.1, seed: 1 }))
      .rejects.toMatchObject({ code: 'ERR_BACKEND' })
    model.dispose()
  })
})

describe('measureTrainingSpeed', () => {
  it('measures SGD throughput of the reference model on the active backend', async () => {
    const before = tf.memory().numTensors
    const started = performance.now()
    const r = await measureTrainingSpeed({ durationMs: 300 })
    expect(performance.now() - started).toBeLessThan(2000)
    expect(r).toMatchObject({ backend: 'wasm', model: 'mlp-64-64-10', batchSize: 32 })
    expect(r.steps).toBeGreaterThan(5)
    expect(r.samplesPerSec).toBeGreaterThan(0)
    // elapsedMs is reported rounded to the millisecond: allow that rounding, relative to the rate
    const fromReported = r.steps * 32 / (r.elapsedMs / 1000)
    expect(Math.abs(r.samplesPerSec - fromReported) / fromReported).toBeLessThan(0.01)
    expect(tf.memory().numTensors).toBe(before)
  })
})
