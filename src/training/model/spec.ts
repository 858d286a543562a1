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
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { TrainingError } from '../errors.js'
import { sizeOf, manifestSize, type ShapeManifest } from '../core/tensors.js'
import { ModelSpecSchema, type ModelSpec } from '../protocol/job-schema.js'
import { MODEL_LIMITS } from '../protocol/limits.js'

/** A network description (its schema is `ModelSpecSchema` in src/training/protocol/job-schema.ts). */
export type { ModelSpec }
/** The limits of a model spec. */
export { MODEL_LIMITS }

/** What a spec needs from a dataset to resolve its input: the flat feature count and an optional image shape. */
export interface InputSource {
  features: number
  shape?: number[]
}

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
  return structuredClone(p)
}

/** One compiled check per architecture, so an error names the field of the architecture the spec claims. */
const ARCH_CHECKS = new Map(ModelSpecSchema.anyOf.map(v => [v.properties.arch.const as string, TypeCompiler.Compile(v)]))

/**
 * The model's own rules beyond its schema: an output layer with at least two classes, a CNN input the pooling does
 * not shrink to nothing, and the parameter cap once the input size is known. Pure; a message, or undefined.
 */
export function modelRuleIssue (spec: ModelSpec): string | undefined {
  if (spec.arch === 'mlp' && spec.layers[spec.layers.length - 1] < 2) return 'the output layer needs at least 2 classes'
  if (spec.arch === 'cnn') {
    const minSide = CNN_CONFIG.pool * CNN_CONFIG.pool
    if (spec.inputShape[0] < minSide || spec.inputShape[1] < minSide) return `cnn input must be at least ${minSide}x${minSide}`
  }
  return spec.inputShape != null ? paramCapIssue(planWeights(spec, spec.inputShape)) : undefined
}

function paramCapIssue (plan: WeightPlan[]): string | undefined {
  const params = manifestSize(plan)
  return params > MODEL_LIMITS.maxParams ? `model has ${params} parameters, limit ${MODEL_LIMITS.maxParams}` : undefined
}

/** Check a spec that arrived from the network or a file against `ModelSpecSchema` and the model's rules; throws `ERR_MODEL_SPEC`. */
export function validateModelSpec (spec: unknown): ModelSpec {
  if (spec == null || typeof spec !== 'object' || Array.isArray(spec)) throw new TrainingError('ERR_MODEL_SPEC', 'model spec must be an object')
  const arch: unknown = (spec as { arch?: unknown }).arch
  const check = typeof arch === 'string' ? ARCH_CHECKS.get(arch) : undefined
  if (check === undefined) throw new TrainingError('ERR_MODEL_SPEC', `unknown arch ${String(arch)}`)
  if (!check.Check(spec)) {
    const e = check.Errors(spec).First()
    const what = (e?.schema as { description?: string } | undefined)?.description ?? e?.message ?? 'schema mismatch'
    throw new TrainingError('ERR_MODEL_SPEC', `model ${e?.path ?? '/'}: ${what}, got ${JSON.stringify(e?.value) ?? 'nothing'}`)
  }
  const rule = modelRuleIssue(spec)
  if (rule !== undefined) throw new TrainingError('ERR_MODEL_SPEC', rule)
  return spec
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
  const plan = planWeights(spec, inputShape)
  const cap = paramCapIssue(plan)
  if (cap !== undefined) throw new TrainingError('ERR_MODEL_SPEC', cap)
  return plan
}

/** `weightPlan` without the parameter cap (sizing a spec to check it). */
function planWeights (spec: ModelSpec, inputShape: number[]): WeightPlan[] {
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
  return plan
}

/** The shape manifest of the flat weight vector a spec produces. */
export function modelManifest (spec: ModelSpec, inputShape: number[]): ShapeManifest {
  return weightPlan(spec, inputShape).map(({ name, shape }) => ({ name, shape: [...shape] }))
}
