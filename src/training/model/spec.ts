/**
 * Model specs: the serializable description a job announces, from which every node builds the same network.
 *
 * MLP interpretation: `layers` lists the hidden layer sizes followed by the output size; the input size is not part of
 * `layers` but comes from the dataset (`features`), or from `inputShape` when the spec pins it. So the reference
 * "MLP 64-64-10" on the 64-pixel digits data is `{ arch: 'mlp', layers: [64, 10] }`: 64 inputs, one hidden layer of 64
 * ReLU units, 10 outputs. Hidden layers use ReLU; the last layer outputs logits (softmax is applied by the loss and by
 * `predictProba`).
 *
 * CNN: the McMahan et al. 2017 MNIST CNN: two 5x5 convolutions (32 then 64 channels, `same` padding, ReLU), each
 * followed by 2x2 max pooling, a 512-unit ReLU dense layer, and a `classes`-wide logits layer.
 */
import { TrainingError } from '../errors.js'
import { sizeOf, manifestSize, type ShapeManifest } from '../core/tensors.js'

/** A network description; `seed` fixes the initial weights bit for bit on every node. */
export type ModelSpec =
  | { arch: 'mlp', layers: number[], seed: number, inputShape?: number[] }
  | { arch: 'cnn', seed: number, inputShape: [number, number, number], classes: number }

/** What a spec needs from a dataset to resolve its input: the flat feature count and an optional image shape. */
export interface InputSource {
  features: number
  shape?: number[]
}

/** Limits that keep a hostile or mistyped spec from exhausting a node's memory. */
export const MODEL_LIMITS = { maxLayers: 16, maxUnits: 65_536, maxParams: 50_000_000, maxInputDim: 1 << 20 } as const

/** CNN hyper-parameters (the FedAvg paper's MNIST CNN). */
export const CNN_CONFIG = { kernel: 5, filters: [32, 64], pool: 2, dense: 512 } as const

/** Named specs used by benchmarks, tests and the CLI. */
export const MODEL_PRESETS = {
  /** The reference model: 64-64-10 MLP on the 8x8 digits. Used by the hardware speed probe. */
  'mlp-64-64-10': { arch: 'mlp', layers: [64, 10], seed: 0, inputShape: [64] },
  /** The FedAvg paper's "2NN": 784-200-200-10. */
  'mnist-2nn': { arch: 'mlp', layers: [200, 200, 10], seed: 0, inputShape: [784] },
  /** The FedAvg paper's CNN on 28x28 MNIST. */
  'mnist-cnn': { arch: 'cnn', seed: 0, inputShape: [28, 28, 1], classes: 10 },
  /** The same CNN on the 8x8 digits (small enough for tests). */
  'digits-cnn': { arch: 'cnn', seed: 0, inputShape: [8, 8, 1], classes: 10 }
} satisfies Record<string, ModelSpec>

/** The name of a preset in `MODEL_PRESETS`. */
export type ModelPresetName = keyof typeof MODEL_PRESETS

/** Look up a preset by name (a fresh copy, so callers may change its seed). */
export function modelPreset (name: ModelPresetName): ModelSpec {
  const p: ModelSpec | undefined = MODEL_PRESETS[name]
  if (p == null) throw new TrainingError('ERR_MODEL_SPEC', `unknown model preset ${String(name)}`)
  return structuredClone(p) as ModelSpec
}

function positiveInts (v: unknown, what: string, max: number): number[] {
  if (!Array.isArray(v) || v.length === 0) throw new TrainingError('ERR_MODEL_SPEC', `${what} must be a non-empty array`)
  for (const d of v) {
    if (!Number.isInteger(d) || d < 1 || d > max) throw new TrainingError('ERR_MODEL_SPEC', `${what} must hold integers in [1, ${max}], got ${String(d)}`)
  }
  return v as number[]
}

/** Check a spec that arrived from the network or a file; returns it typed, or throws `ERR_MODEL_SPEC`. */
export function validateModelSpec (spec: unknown): ModelSpec {
  if (spec == null || typeof spec !== 'object') throw new TrainingError('ERR_MODEL_SPEC', 'model spec must be an object')
  const s = spec as Record<string, unknown>
  if (!Number.isSafeInteger(s.seed)) throw new TrainingError('ERR_MODEL_SPEC', `seed must be a safe integer, got ${String(s.seed)}`)
  if (s.arch === 'mlp') {
    const layers = positiveInts(s.layers, 'layers', MODEL_LIMITS.maxUnits)
    if (layers.length > MODEL_LIMITS.maxLayers) throw new TrainingError('ERR_MODEL_SPEC', `at most ${MODEL_LIMITS.maxLayers} layers`)
    if (layers[layers.length - 1] < 2) throw new TrainingError('ERR_MODEL_SPEC', 'the output layer needs at least 2 classes')
    if (s.inputShape !== undefined) positiveInts(s.inputShape, 'inputShape', MODEL_LIMITS.maxInputDim)
    return spec as ModelSpec
  }
  if (s.arch === 'cnn') {
    const shape = positiveInts(s.inputShape, 'inputShape', MODEL_LIMITS.maxInputDim)
    if (shape.length !== 3) throw new TrainingError('ERR_MODEL_SPEC', 'cnn inputShape must be [height, width, channels]')
    const minSide = CNN_CONFIG.pool * CNN_CONFIG.pool
    if (shape[0] < minSide || shape[1] < minSide) throw new TrainingError('ERR_MODEL_SPEC', `cnn input must be at least ${minSide}x${minSide}`)
    if (!Number.isInteger(s.classes) || (s.classes as number) < 2 || (s.classes as number) > MODEL_LIMITS.maxUnits) {
      throw new TrainingError('ERR_MODEL_SPEC', `classes must be an integer >= 2, got ${String(s.classes)}`)
    }
    return spec as ModelSpec
  }
  throw new TrainingError('ERR_MODEL_SPEC', `unknown arch ${String(s.arch)}`)
}

/**
 * The input shape a spec builds with: the spec's own `inputShape` when set (checked against the data's feature count
 * when data is given), else `[features]` for an MLP.
 */
export function resolveInputShape (spec: ModelSpec, data?: InputSource): number[] {
  const fixed = spec.inputShape
  if (fixed != null) {
    if (data != null && sizeOf(fixed) !== data.features) {
      throw new TrainingError('ERR_MODEL_SPEC', `model input ${fixed.join('x')} does not fit data with ${data.features} features`)
    }
    return [...fixed]
  }
  if (data == null) throw new TrainingError('ERR_MODEL_SPEC', 'the spec has no inputShape: pass the dataset to size the input')
  return [data.features]
}

/** The number of classes a spec outputs. */
export function outputClasses (spec: ModelSpec): number {
  return spec.arch === 'mlp' ? spec.layers[spec.layers.length - 1] : spec.classes
}

/** A short, stable id for logs and benchmark output, e.g. `mlp-64-64-10` or `cnn-28x28x1-10`. */
export function modelId (spec: ModelSpec, inputShape: number[] = resolveInputShape(spec)): string {
  return spec.arch === 'mlp'
    ? `mlp-${sizeOf(inputShape)}-${spec.layers.join('-')}`
    : `cnn-${inputShape.join('x')}-${spec.classes}`
}

/** One weight tensor of a layer with the fan-in/fan-out Glorot initialisation needs (bias: zeros). */
export interface WeightPlan {
  name: string
  shape: number[]
  init: { kind: 'glorot-uniform', fanIn: number, fanOut: number } | { kind: 'zeros' }
}

/** The weight tensors a spec builds, in the order tfjs reports them; pure, so it runs without tfjs. */
export function weightPlan (spec: ModelSpec, inputShape: number[]): WeightPlan[] {
  const plan: WeightPlan[] = []
  const dense = (i: number, fanIn: number, units: number): void => {
    plan.push({ name: `dense_${i}/kernel`, shape: [fanIn, units], init: { kind: 'glorot-uniform', fanIn, fanOut: units } })
    plan.push({ name: `dense_${i}/bias`, shape: [units], init: { kind: 'zeros' } })
  }
  if (spec.arch === 'mlp') {
    let prev = sizeOf(inputShape)
    spec.layers.forEach((units, i) => { dense(i, prev, units); prev = units })
  } else {
    const [h, w, c] = inputShape
    const k = CNN_CONFIG.kernel
    let channels = c
    CNN_CONFIG.filters.forEach((filters, i) => {
      plan.push({ name: `conv_${i}/kernel`, shape: [k, k, channels, filters], init: { kind: 'glorot-uniform', fanIn: k * k * channels, fanOut: k * k * filters } })
      plan.push({ name: `conv_${i}/bias`, shape: [filters], init: { kind: 'zeros' } })
      channels = filters
    })
    const shrink = CNN_CONFIG.pool ** CNN_CONFIG.filters.length
    const flat = Math.floor(h / shrink) * Math.floor(w / shrink) * channels
    dense(0, flat, CNN_CONFIG.dense)
    dense(1, CNN_CONFIG.dense, spec.classes)
  }
  const params = manifestSize(plan)
  if (params > MODEL_LIMITS.maxParams) throw new TrainingError('ERR_MODEL_SPEC', `model has ${params} parameters, limit ${MODEL_LIMITS.maxParams}`)
  return plan
}

/** The shape manifest of the flat weight vector a spec produces. */
export function modelManifest (spec: ModelSpec, inputShape: number[]): ShapeManifest {
  return weightPlan(spec, inputShape).map(({ name, shape }) => ({ name, shape: [...shape] }))
}
