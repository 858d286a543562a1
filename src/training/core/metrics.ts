/**
 * Evaluation metrics reported with each contribution and used by verifiers: accuracy, macro precision/recall/F1
 * from a confusion matrix, and mean cross-entropy. Plain float64 arithmetic in a fixed order.
 */
import { TrainingError } from '../errors.js'

/** Classification quality of predictions against true labels. */
export interface ClassificationMetrics {
  accuracy: number
  macroPrecision: number
  macroRecall: number
  macroF1: number
  /** confusion[true][predicted] = count. */
  confusion: number[][]
}

/** Probabilities are clamped to this floor before the log, as Keras does, so one zero does not make the loss infinite. */
export const CROSS_ENTROPY_EPSILON = 1e-7

function checkClasses (numClasses: number): void {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new TrainingError('ERR_ARGUMENT', `numClasses must be a positive integer, got ${numClasses}`)
}

function checkLabel (y: number, numClasses: number, what: string): void {
  if (!Number.isInteger(y) || y < 0 || y >= numClasses) throw new TrainingError('ERR_ARGUMENT', `${what} ${y} is not a class in [0, ${numClasses})`)
}

/**
 * Accuracy and macro-averaged precision, recall and F1 (per-class F1, then averaged). A class absent from both
 * the truth and the predictions is skipped in the macro averages; a zero denominator counts as 0. No samples
 * gives all zeros.
 */
export function classificationMetrics (yTrue: ArrayLike<number>, yPred: ArrayLike<number>, numClasses: number): ClassificationMetrics {
  checkClasses(numClasses)
  if (yTrue.length !== yPred.length) throw new TrainingError('ERR_SHAPE', `${yTrue.length} labels but ${yPred.length} predictions`)
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0))
  let correct = 0
  for (let i = 0; i < yTrue.length; i++) {
    checkLabel(yTrue[i], numClasses, 'label')
    checkLabel(yPred[i], numClasses, 'prediction')
    confusion[yTrue[i]][yPred[i]]++
    if (yTrue[i] === yPred[i]) correct++
  }
  let p = 0
  let r = 0
  let f1 = 0
  let present = 0
  for (let c = 0; c < numClasses; c++) {
    const tp = confusion[c][c]
    let actual = 0
    let predicted = 0
    for (let k = 0; k < numClasses; k++) {
      actual += confusion[c][k]
      predicted += confusion[k][c]
    }
    if (actual === 0 && predicted === 0) continue
    present++
    const precision = predicted === 0 ? 0 : tp / predicted
    const recall = actual === 0 ? 0 : tp / actual
    p += precision
    r += recall
    f1 += precision + recall === 0 ? 0 : 2 * precision * recall / (precision + recall)
  }
  const macro = (x: number): number => present === 0 ? 0 : x / present
  return {
    accuracy: yTrue.length === 0 ? 0 : correct / yTrue.length,
    macroPrecision: macro(p),
    macroRecall: macro(r),
    macroF1: macro(f1),
    confusion
  }
}

/**
 * Mean categorical cross-entropy, -mean(log p[label]), for row-major probabilities of shape
 * [labels.length, numClasses]. Probabilities are clamped to [epsilon, 1]. No samples gives 0.
 */
export function crossEntropy (probs: Float32Array, labels: ArrayLike<number>, numClasses: number): number {
  checkClasses(numClasses)
  if (probs.length !== labels.length * numClasses) throw new TrainingError('ERR_SHAPE', `${probs.length} probabilities for ${labels.length} samples x ${numClasses} classes`)
  if (labels.length === 0) return 0
  let sum = 0
  for (let i = 0; i < labels.length; i++) {
    checkLabel(labels[i], numClasses, 'label')
    const p = probs[i * numClasses + labels[i]]
    if (Number.isNaN(p)) throw new TrainingError('ERR_NONFINITE', `probability for sample ${i} is NaN`)
    sum -= Math.log(Math.min(1, Math.max(CROSS_ENTROPY_EPSILON, p)))
  }
  return sum / labels.length
}
