import { beforeAll, describe, expect, it } from 'vitest'
import { modelHash } from '../../../../src/training/core/delta.js'
import { initBackend, tf } from '../../../../src/training/model/backend.js'
import { buildModel, getFlatWeights, setFlatWeights } from '../../../../src/training/model/build.js'
import { initialWeights } from '../../../../src/training/model/init.js'
import {
  modelId, modelManifest, modelPreset, resolveInputShape, validateModelSpec, type ModelSpec
} from '../../../../src/training/model/spec.js'
import { predictProba } from '../../../../src/training/model/train.js'

const mlp = (seed: number, layers = [64, 10]): ModelSpec & { arch: 'mlp' } => ({ arch: 'mlp', layers, seed })
const digits = { features: 64 }

beforeAll(async () => { await initBackend('wasm') })

describe('model specs', () => {
  it.each([
    [{ arch: 'mlp', layers: [64, 10], seed: 1 }, null],
    [{ arch: 'cnn', seed: 1, inputShape: [28, 28, 1], classes: 10 }, null],
    [{ arch: 'mlp', layers: [], seed: 1 }, /non-empty/],
    [{ arch: 'mlp', layers: [64, 1], seed: 1 }, /at least 2 classes/],
    [{ arch: 'mlp', layers: [64.5, 10], seed: 1 }, /integers/],
    [{ arch: 'mlp', layers: [64, 10], seed: 1.5 }, /seed/],
    [{ arch: 'mlp', layers: [64, 10] }, /seed/],
    [{ arch: 'cnn', seed: 1, inputShape: [28, 28], classes: 10 }, /height, width, channels/],
    [{ arch: 'cnn', seed: 1, inputShape: [2, 2, 1], classes: 10 }, /at least 4x4/],
    [{ arch: 'cnn', seed: 1, inputShape: [28, 28, 1], classes: 1 }, /classes/],
    [{ arch: 'rnn', seed: 1 }, /unknown arch/],
    [null, /object/]
  ])('validateModelSpec(%j)', (spec, error) => {
    if (error == null) expect(validateModelSpec(spec)).toBe(spec)
    else expect(() => validateModelSpec(spec)).toThrow(error)
  })

  it('takes the MLP input size from the data unless the spec pins it', () => {
    expect(resolveInputShape(mlp(0), digits)).toEqual([64])
    expect(resolveInputShape({ ...mlp(0), inputShape: [8, 8] }, digits)).toEqual([8, 8])
    expect(() => resolveInputShape({ ...mlp(0), inputShape: [784] }, digits)).toThrow(/does not fit/)
    expect(() => resolveInputShape(mlp(0))).toThrow(/no inputShape/)
    expect(modelId(mlp(0), [64])).toBe('mlp-64-64-10')
    expect(modelId(modelPreset('mnist-2nn'))).toBe('mlp-784-200-200-10')
    expect(modelManifest(mlp(0), [64])).toEqual([
      { name: 'dense_0/kernel', shape: [64, 64] }, { name: 'dense_0/bias', shape: [64] },
      { name: 'dense_1/kernel', shape: [64, 10] }, { name: 'dense_1/bias', shape: [10] }
    ])
  })

  it('refuses specs beyond the parameter limit', () => {
    expect(() => modelManifest(mlp(0, [65536, 65536, 10]), [784])).toThrow(/limit/)
  })
})

describe('deterministic initial weights', () => {
  it('matches the pinned hash of the reference model (changing it changes every round-0 model on the mesh)', () => {
    const { flat } = initialWeights(modelPreset('mlp-64-64-10'), [64])
    expect(modelHash(flat)).toBe('b681bd2aadb398dda2f5eeaeb33c4459e994d9d71334af66d524da9b29ea431d')
  })

  it('same seed gives identical built models, another seed a different one', async () => {
    const [a, b, c] = await Promise.all([buildModel(mlp(7), digits), buildModel(mlp(7), digits), buildModel(mlp(8), digits)])
    const [ha, hb, hc] = [a, b, c].map(m => modelHash(getFlatWeights(m).flat))
    expect(ha).toBe(hb)
    expect(hc).not.toBe(ha)
    // what tfjs holds is exactly what the pure generator produced
    expect(ha).toBe(modelHash(initialWeights(mlp(7), [64]).flat))
    for (const m of [a, b, c]) m.dispose()
  })

  it('draws Glorot-uniform kernels and zero biases', () => {
    const { manifest, flat } = initialWeights(mlp(3, [64, 10]), [64])
    const kernel = flat.subarray(0, 64 * 64)
    const bias = flat.subarray(64 * 64, 64 * 64 + 64)
    const limit = Math.sqrt(6 / (64 + 64))
    expect(manifest[0].name).toBe('dense_0/kernel')
    expect(Math.max(...kernel.map(Math.abs))).toBeLessThanOrEqual(limit)
    expect(Math.max(...kernel.map(Math.abs))).toBeGreaterThan(0.95 * limit)
    const mean = kernel.reduce((s, v) => s + v, 0) / kernel.length
    expect(Math.abs(mean)).toBeLessThan(0.02)
    expect(bias.every(v => v === 0)).toBe(true)
  })
})

describe('flat weights', () => {
  it('round-trips through set/get without changing a bit, and leaks no tensors', async () => {
    const model = await buildModel(mlp(1), digits)
    const before = tf.memory().numTensors
    const { manifest, flat } = getFlatWeights(model)
    const next = flat.map((_, i) => Math.sin(i) * 0.5)
    setFlatWeights(model, manifest, next)
    const back = getFlatWeights(model)
    expect(back.manifest).toEqual(manifest)
    expect(modelHash(back.flat)).toBe(modelHash(next))
    expect(tf.memory().numTensors).toBe(before)
    model.dispose()
  })

  it('rejects a foreign manifest or a vector of the wrong length', async () => {
    const model = await buildModel(mlp(1), digits)
    const { manifest, flat } = getFlatWeights(model)
    const other = modelManifest(mlp(1, [32, 10]), [64])
    expect(() => setFlatWeights(model, other, new Float32Array(flat.length))).toThrow(expect.objectContaining({ code: 'ERR_SHAPE' }))
    expect(() => setFlatWeights(model, manifest, flat.subarray(1))).toThrow(expect.objectContaining({ code: 'ERR_SHAPE' }))
    model.dispose()
  })

  it('builds the FedAvg CNN with the planned manifest and runs it forward', async () => {
    const spec = modelPreset('digits-cnn')
    const model = await buildModel(spec)
    const { manifest, flat } = getFlatWeights(model)
    expect(manifest).toEqual(modelManifest(spec, [8, 8, 1]))
    expect(manifest.map(t => t.shape)).toEqual([[5, 5, 1, 32], [32], [5, 5, 32, 64], [64], [2 * 2 * 64, 512], [512], [512, 10], [10]])
    expect(modelHash(flat)).toBe(modelHash(initialWeights(spec, [8, 8, 1]).flat))
    const probs = predictProba(model, new Float32Array(3 * 64).fill(0.5), 64)
    expect(probs.length).toBe(30)
    for (let r = 0; r < 3; r++) expect(probs.subarray(r * 10, r * 10 + 10).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5)
    model.dispose()
  })
})
