/**
 * Local training and evaluation on a built model: plain minibatch SGD (the FedAvg paper's client update) with a
 * seeded batch order, and classification metrics from the training core.
 *
 * Batches are drawn by our own seeded permutation (tfjs never shuffles), so the same seed on the same backend replays
 * the same run. Bit-equality across backends or machines is not promised: aggregation is what the mesh makes exact.
 */
import { TrainingError } from '../errors.js'
import { createRng } from '../core/rng.js'
import { classificationMetrics } from '../core/metrics.js'
import { canTrain, tf } from './backend.js'
import type { Model } from './build.js'
import { deriveSeed, permutation } from './seeds.js'

/** Labelled rows: `x` row-major `[n, features]`, `y` integer labels in `[0, classes)`. A Dataset satisfies it. */
export interface TrainData {
  x: Float32Array
  y: Int32Array
  features: number
  classes: number
}

/** Progress after each minibatch. `loss` is that batch's mean loss. */
export interface TrainProgress {
  epoch: number
  epochs: number
  batch: number
  batches: number
  loss: number
}

/** Options of one local training run. */
export interface TrainOptions {
  epochs: number
  /** Minibatch size, or 'all' for full-batch gradient descent (FedSGD's B = infinity). */
  batchSize: number | 'all'
  learningRate: number
  /** Seeds the batch order (and the subset drawn when `maxSamples` caps the data). */
  seed: number
  /** Work budget: train on at most this many rows, a seeded random subset of the data. */
  maxSamples?: number
  signal?: AbortSignal
  onProgress?: (p: TrainProgress) => void
  /** Yield to the event loop at least this often, so timers, sockets and aborts are served (default 25 ms). */
  yieldEveryMs?: number
}

/** What a local run did: `samples` rows used (the FedAvg weight), mean loss of the last epoch, steps taken. */
export interface TrainResult {
  samples: number
  loss: number
  durationMs: number
  steps: number
}

/** Held-out metrics (macro-averaged precision/recall/F1) and the predicted class of every row. */
export interface EvalResult {
  loss: number
  accuracy: number
  precision: number
  recall: number
  f1: number
  predictions: Int32Array
  confusion: number[][]
}

const BATCH_STREAM = 0xba7c

/** The model's input width and output width (number of logits). */
export function modelIo (model: Model): { features: number, outputs: number } {
  const inShape = model.inputs[0].shape
  const outShape = model.outputs[0].shape
  return { features: inShape[inShape.length - 1] ?? 0, outputs: outShape[outShape.length - 1] ?? 0 }
}

function checkData (model: Model, data: TrainData): number {
  const { features, outputs } = modelIo(model)
  if (data.features !== features) throw new TrainingError('ERR_SHAPE', `data has ${data.features} features, model expects ${features}`)
  if (data.classes > outputs) throw new TrainingError('ERR_SHAPE', `data has ${data.classes} classes, model outputs ${outputs}`)
  const n = data.y.length
  if (data.x.length !== n * features) throw new TrainingError('ERR_SHAPE', `x has ${data.x.length} values, expected ${n} rows x ${features}`)
  for (let i = 0; i < n; i++) {
    const c = data.y[i]
    if (c < 0 || c >= outputs) throw new TrainingError('ERR_SHAPE', `label ${c} at row ${i} is outside [0, ${outputs})`)
  }
  return outputs
}

/** Copy rows `order[from..from+size)` of `data` into fresh batch arrays. */
function gather (data: TrainData, order: Int32Array, from: number, size: number): { x: Float32Array, y: Int32Array } {
  const f = data.features
  const x = new Float32Array(size * f)
  const y = new Int32Array(size)
  for (let i = 0; i < size; i++) {
    const r = order[from + i]
    x.set(data.x.subarray(r * f, (r + 1) * f), i * f)
    y[i] = data.y[r]
  }
  return { x, y }
}

/**
 * One SGD step on a batch; returns the batch's mean softmax cross-entropy. Every tensor it makes is released.
 * Shared with the speed benchmark so both measure the same work.
 */
export function sgdStep (model: Model, optimizer: tf.Optimizer, vars: tf.Variable[], x: Float32Array, y: Int32Array, features: number, outputs: number): number {
  const cost = tf.tidy(() => {
    const xs = tf.tensor2d(x, [y.length, features])
    const ys = tf.oneHot(tf.tensor1d(y, 'int32'), outputs)
    const c = optimizer.minimize(() => {
      const logits = model.apply(xs, { training: true }) as tf.Tensor
      return tf.losses.softmaxCrossEntropy(ys, logits) as tf.Scalar
    }, true, vars)
    if (c == null) throw new TrainingError('ERR_TRAIN', 'optimizer returned no cost')
    return c
  })
  const v = cost.dataSync()[0]
  cost.dispose()
  return v
}

/** The model's trainable variables, in weight order. */
export function trainableVariables (model: Model): tf.Variable[] {
  return model.trainableWeights.map(w => w.read() as tf.Variable)
}

const yieldToLoop = async (): Promise<void> => { await new Promise<void>(resolve => setImmediate(resolve)) }

function throwIfAborted (signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new TrainingError('ERR_ABORTED', 'local training aborted', { cause: signal.reason })
}

/** Train `model` in place on `data` with plain SGD; see TrainOptions. */
export async function trainLocal (model: Model, data: TrainData, opts: TrainOptions): Promise<TrainResult> {
  const started = performance.now()
  const { epochs, learningRate, seed } = opts
  if (!Number.isInteger(epochs) || epochs < 1) throw new TrainingError('ERR_ARGUMENT', `epochs must be a positive integer, got ${epochs}`)
  if (!(learningRate > 0) || !Number.isFinite(learningRate)) throw new TrainingError('ERR_ARGUMENT', `learningRate must be > 0, got ${learningRate}`)
  if (opts.batchSize !== 'all' && (!Number.isInteger(opts.batchSize) || opts.batchSize < 1)) {
    throw new TrainingError('ERR_ARGUMENT', `batchSize must be a positive integer or 'all', got ${opts.batchSize}`)
  }
  const outputs = checkData(model, data)
  const n = data.y.length
  if (n === 0) throw new TrainingError('ERR_ARGUMENT', 'no training data')
  if (model.layers.some(l => l.getClassName() === 'Conv2D') && !canTrain('cnn')) {
    throw new TrainingError('ERR_BACKEND', `the ${tf.getBackend()} backend cannot train convolutions (no conv gradient kernels): use the cpu or tensorflow backend`)
  }
  throwIfAborted(opts.signal)

  const rng = createRng(deriveSeed(seed, BATCH_STREAM))
  let rows = permutation(n, rng)
  if (opts.maxSamples != null) {
    if (!Number.isInteger(opts.maxSamples) || opts.maxSamples < 1) throw new TrainingError('ERR_ARGUMENT', `maxSamples must be a positive integer, got ${opts.maxSamples}`)
    if (opts.maxSamples < n) rows = rows.slice(0, opts.maxSamples)
  }
  const m = rows.length
  const batch = opts.batchSize === 'all' ? m : Math.min(opts.batchSize, m)
  const batches = Math.ceil(m / batch)
  const yieldEvery = opts.yieldEveryMs ?? 25

  const optimizer = tf.train.sgd(learningRate)
  const vars = trainableVariables(model)
  let steps = 0
  let epochLoss = 0
  let lastYield = performance.now()
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = new Int32Array(m)
      const perm = permutation(m, rng)
      for (let i = 0; i < m; i++) order[i] = rows[perm[i]]
      let sum = 0
      for (let b = 0; b < batches; b++) {
        const from = b * batch
        const size = Math.min(batch, m - from)
        const { x, y } = gather(data, order, from, size)
        const loss = sgdStep(model, optimizer, vars, x, y, data.features, outputs)
        if (!Number.isFinite(loss)) throw new TrainingError('ERR_DIVERGED', `loss became ${loss} at epoch ${epoch}, batch ${b}: lower the learning rate`)
        sum += loss * size
        steps++
        opts.onProgress?.({ epoch, epochs, batch: b, batches, loss })
        if (performance.now() - lastYield >= yieldEvery) {
          await yieldToLoop()
          lastYield = performance.now()
        }
        throwIfAborted(opts.signal)
      }
      epochLoss = sum / m
    }
  } finally {
    optimizer.dispose()
  }
  return { samples: m, loss: epochLoss, durationMs: performance.now() - started, steps }
}

/** Class probabilities for rows of `x` (row-major, `features` wide), as `[n, outputs]` row-major. */
export function predictProba (model: Model, x: Float32Array, features: number, batchSize = 1024): Float32Array {
  const n = x.length / features
  const { outputs } = modelIo(model)
  const out = new Float32Array(n * outputs)
  for (let from = 0; from < n; from += batchSize) {
    const size = Math.min(batchSize, n - from)
    const probs = tf.tidy(() => tf.softmax(model.apply(tf.tensor2d(x.slice(from * features, (from + size) * features), [size, features])) as tf.Tensor))
    out.set(probs.dataSync() as Float32Array, from * outputs)
    probs.dispose()
  }
  return out
}

/** Evaluate on labelled data: mean cross-entropy, accuracy, macro precision/recall/F1, predictions, confusion matrix. */
export function evaluate (model: Model, data: TrainData, opts: { batchSize?: number } = {}): EvalResult {
  const outputs = checkData(model, data)
  const n = data.y.length
  if (n === 0) throw new TrainingError('ERR_ARGUMENT', 'no evaluation data')
  const f = data.features
  const batchSize = opts.batchSize ?? 1024
  const predictions = new Int32Array(n)
  let lossSum = 0
  for (let from = 0; from < n; from += batchSize) {
    const size = Math.min(batchSize, n - from)
    const [pred, loss] = tf.tidy(() => {
      const logits = model.apply(tf.tensor2d(data.x.slice(from * f, (from + size) * f), [size, f])) as tf.Tensor
      const ys = tf.oneHot(tf.tensor1d(data.y.slice(from, from + size), 'int32'), outputs)
      const l = tf.losses.softmaxCrossEntropy(ys, logits, undefined, undefined, tf.Reduction.SUM)
      return [tf.argMax(logits, 1), l]
    })
    predictions.set(pred.dataSync() as Int32Array, from)
    lossSum += loss.dataSync()[0]
    pred.dispose()
    loss.dispose()
  }
  const m = classificationMetrics(data.y, predictions, Math.max(data.classes, outputs))
  return {
    loss: lossSum / n,
    accuracy: m.accuracy,
    precision: m.macroPrecision,
    recall: m.macroRecall,
    f1: m.macroF1,
    predictions,
    confusion: m.confusion
  }
}
