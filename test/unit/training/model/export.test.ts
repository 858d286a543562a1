import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend, tf } from '../../../../src/training/model/backend.js'
import { buildModel } from '../../../../src/training/model/build.js'
import { exportLayersModel, WEIGHTS_FILE } from '../../../../src/training/model/export.js'
import { predictProba } from '../../../../src/training/model/train.js'
import type { ModelSpec } from '../../../../src/training/model/spec.js'

beforeAll(async () => { await initBackend('wasm') })

describe('exportLayersModel', () => {
  it.each<[string, ModelSpec, number]>([
    ['mlp', { arch: 'mlp', layers: [16, 10], seed: 4 }, 64],
    ['cnn', { arch: 'cnn', seed: 2, inputShape: [8, 8, 1], classes: 10 }, 64]
  ])('writes a %s that tf.loadLayersModel reads and that predicts what the meshnode model does', async (_n, spec, features) => {
    const model = await buildModel(spec, { features })
    const files = await exportLayersModel(model)
    expect((files.modelJson.weightsManifest as Array<{ paths: string[] }>)[0].paths).toEqual([WEIGHTS_FILE])
    // what a plain program does: model.json + weights.bin, through tfjs's own loader
    const json = JSON.parse(JSON.stringify(files.modelJson)) as { modelTopology: object, weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }> }
    const loaded = await tf.loadLayersModel(tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: files.weights.buffer.slice(files.weights.byteOffset, files.weights.byteOffset + files.weights.byteLength)
    }))
    const x = Float32Array.from({ length: 3 * features }, (_, i) => (i * 7919 % 17) / 16)
    const want = predictProba(model, x, features)
    const got = tf.tidy(() => (loaded.predict(tf.tensor2d(x, [3, features])) as tf.Tensor).dataSync())
    expect(got.length).toBe(want.length)
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 5)
    loaded.dispose()
    model.dispose()
  })
})
