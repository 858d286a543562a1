/**
 * Build tfjs models from specs, and move their weights in and out as flat vectors with a shape manifest (the one
 * representation the training core, the codecs and the mesh work on).
 *
 * Every model takes a flat `[batch, features]` input (a CNN reshapes it to its image shape first), outputs logits, and
 * names its layers from the spec (`dense_0`, `conv_1`, ...) so manifests match across models, processes and nodes.
 */
import { TrainingError } from '../errors.js'
import { manifestSize, sameManifest, sizeOf, unflatten, type ShapeManifest } from '../core/tensors.js'
import { backendInfo, initBackend, tf } from './backend.js'
import { initialWeights } from './init.js'
import { CNN_CONFIG, resolveInputShape, validateModelSpec, type InputSource, type ModelSpec } from './spec.js'

/** A built model; a plain tfjs LayersModel. */
export type Model = tf.LayersModel

/** Flat weights and the manifest that describes them. */
export interface FlatWeights {
  manifest: ShapeManifest
  flat: Float32Array
}

/**
 * Build the model a spec describes, with its deterministic initial weights. The input size comes from `data`
 * (a dataset or anything with `features`) unless the spec pins `inputShape`. Starts the default backend if none is.
 */
export async function buildModel (spec: ModelSpec, data?: InputSource): Promise<Model> {
  validateModelSpec(spec)
  if (backendInfo() == null) await initBackend()
  const inputShape = resolveInputShape(spec, data)
  const features = sizeOf(inputShape)
  const model = tf.sequential({ name: 'meshnode_model' })
  // Initializers are zeros: the real initial weights are set below from the seeded generator.
  const zeros = { kernelInitializer: 'zeros', biasInitializer: 'zeros' } as const
  if (spec.arch === 'mlp') {
    spec.layers.forEach((units, i) => {
      const last = i === spec.layers.length - 1
      model.add(tf.layers.dense({
        name: `dense_${i}`,
        units,
        activation: last ? 'linear' : 'relu',
        ...(i === 0 ? { inputShape: [features] } : {}),
        ...zeros
      }))
    })
  } else {
    const [h, w, c] = inputShape
    model.add(tf.layers.reshape({ name: 'reshape', targetShape: [h, w, c], inputShape: [features] }))
    CNN_CONFIG.filters.forEach((filters, i) => {
      model.add(tf.layers.conv2d({ name: `conv_${i}`, filters, kernelSize: CNN_CONFIG.kernel, padding: 'same', activation: 'relu', ...zeros }))
      model.add(tf.layers.maxPooling2d({ name: `pool_${i}`, poolSize: CNN_CONFIG.pool, strides: CNN_CONFIG.pool, padding: 'valid' }))
    })
    model.add(tf.layers.flatten({ name: 'flatten' }))
    model.add(tf.layers.dense({ name: 'dense_0', units: CNN_CONFIG.dense, activation: 'relu', ...zeros }))
    model.add(tf.layers.dense({ name: 'dense_1', units: spec.classes, activation: 'linear', ...zeros }))
  }
  const init = initialWeights(spec, inputShape)
  try {
    setFlatWeights(model, init.manifest, init.flat)
  } catch (err) {
    model.dispose()
    throw err
  }
  return model
}

/** The manifest of a built model, in weight order (names are the layer-scoped original names). */
export function modelWeightsManifest (model: Model): ShapeManifest {
  return model.weights.map(w => ({ name: w.originalName, shape: [...w.shape] as number[] }))
}

/** Copy a model's weights out as one flat Float32Array with its manifest. */
export function getFlatWeights (model: Model): FlatWeights {
  const manifest = modelWeightsManifest(model)
  const flat = new Float32Array(manifestSize(manifest))
  let off = 0
  for (const w of model.weights) {
    const values = w.read().dataSync() as Float32Array
    flat.set(values, off)
    off += values.length
  }
  return { manifest, flat }
}

/**
 * Load flat weights into a model. Throws `ERR_SHAPE` when the manifest is not the model's (names, order or shapes) or
 * the vector's length does not match it.
 */
export function setFlatWeights (model: Model, manifest: ShapeManifest, flat: Float32Array): void {
  const own = modelWeightsManifest(model)
  if (!sameManifest(own, manifest)) {
    throw new TrainingError('ERR_SHAPE', `weight manifest does not match the model (model: ${describe(own)}; given: ${describe(manifest)})`)
  }
  const parts = unflatten(manifest, flat)
  const tensors = parts.map((p, i) => tf.tensor(p, manifest[i].shape, 'float32'))
  try {
    model.setWeights(tensors)
  } finally {
    // setWeights assigns by reference-counted data: our handles can go.
    for (const t of tensors) t.dispose()
  }
}

function describe (m: ShapeManifest): string {
  const s = m.map(t => `${t.name}[${t.shape.join(',')}]`).join(' ')
  return s.length > 300 ? s.slice(0, 300) + '...' : s
}
