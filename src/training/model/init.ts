/**
 * Deterministic initial weights. tfjs's initializers draw from a global, backend-dependent random source, so a job's
 * round-0 model is generated here instead: Glorot-uniform kernels and zero biases from a PRNG seeded by the spec, one
 * stream per tensor. Only integer PRNG steps, one multiply, one sqrt and a float32 rounding are involved, all exact
 * under IEEE 754, so every node derives the same bits.
 */
import type { ShapeManifest } from '../core/tensors.js'
import { sizeOf } from '../core/tensors.js'
import { createRng } from '../core/rng.js'
import { deriveSeed } from './seeds.js'
import { weightPlan, type ModelSpec } from './spec.js'

/** Domain tag so initial-weight streams never coincide with other uses of the same seed. */
const INIT_STREAM = 0x1a17

/** The flat initial weights (and their manifest) of a spec at a given input shape. */
export function initialWeights (spec: ModelSpec, inputShape: number[]): { manifest: ShapeManifest, flat: Float32Array } {
  const plan = weightPlan(spec, inputShape)
  const total = plan.reduce((n, t) => n + sizeOf(t.shape), 0)
  const flat = new Float32Array(total)
  let off = 0
  plan.forEach((t, i) => {
    const n = sizeOf(t.shape)
    if (t.init.kind === 'glorot-uniform') {
      const limit = Math.sqrt(6 / (t.init.fanIn + t.init.fanOut))
      const rng = createRng(deriveSeed(spec.seed, INIT_STREAM, i))
      for (let j = 0; j < n; j++) flat[off + j] = (2 * rng.next() - 1) * limit
    }
    off += n
  })
  return { manifest: plan.map(({ name, shape }) => ({ name, shape: [...shape] })), flat }
}
