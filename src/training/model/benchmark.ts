/**
 * The training-speed probe the node runs at start (and advertises): SGD steps per second on the reference
 * 64-64-10 MLP with synthetic data, measured on the active backend. Takes about `durationMs` plus a short warm-up.
 */
import { createRng } from '../core/rng.js'
import { backendInfo, initBackend, tf } from './backend.js'
import { buildModel } from './build.js'
import { modelPreset } from './spec.js'
import { sgdStep, trainableVariables } from './train.js'

/** Result of the speed probe. */
export interface TrainingSpeed {
  samplesPerSec: number
  backend: string
  model: 'mlp-64-64-10'
  batchSize: number
  /** Measured steps and the time they took (excluding warm-up). */
  steps: number
  elapsedMs: number
}

/** Options of the speed probe. */
export interface TrainingSpeedOptions {
  durationMs?: number
  batchSize?: number
  /** Untimed steps first, so one-off kernel set-up is not counted. */
  warmupSteps?: number
}

/** Measure training throughput on the active backend (starting the default one if none is). */
export async function measureTrainingSpeed (opts: TrainingSpeedOptions = {}): Promise<TrainingSpeed> {
  const durationMs = opts.durationMs ?? 1500
  const batchSize = opts.batchSize ?? 32
  const warmup = opts.warmupSteps ?? 5
  if (backendInfo() == null) await initBackend()
  const spec = modelPreset('mlp-64-64-10')
  const features = 64
  const classes = 10
  const model = await buildModel(spec)
  const optimizer = tf.train.sgd(0.01)
  try {
    const vars = trainableVariables(model)
    // Synthetic batches from a fixed seed: speed does not depend on the data, only on shapes.
    const rng = createRng(42)
    const pool = 8
    const xs: Float32Array[] = []
    const ys: Int32Array[] = []
    for (let b = 0; b < pool; b++) {
      const x = new Float32Array(batchSize * features)
      for (let i = 0; i < x.length; i++) x[i] = rng.next()
      const y = new Int32Array(batchSize)
      for (let i = 0; i < batchSize; i++) y[i] = rng.int(classes)
      xs.push(x); ys.push(y)
    }
    for (let s = 0; s < warmup; s++) sgdStep(model, optimizer, vars, xs[s % pool], ys[s % pool], features, classes)
    // Yield to the event loop between short slices so a starting node stays responsive; only compute time counts.
    let steps = 0
    let elapsedMs = 0
    while (elapsedMs < durationMs) {
      const sliceStart = performance.now()
      let now = sliceStart
      while (now - sliceStart < 50 && elapsedMs + (now - sliceStart) < durationMs) {
        sgdStep(model, optimizer, vars, xs[steps % pool], ys[steps % pool], features, classes)
        steps++
        now = performance.now()
      }
      elapsedMs += now - sliceStart
      await new Promise<void>(resolve => setImmediate(resolve))
    }
    return {
      samplesPerSec: Math.round(steps * batchSize / (elapsedMs / 1000)),
      backend: tf.getBackend(),
      model: 'mlp-64-64-10',
      batchSize,
      steps,
      elapsedMs: Math.round(elapsedMs)
    }
  } finally {
    optimizer.dispose()
    model.dispose()
  }
}
