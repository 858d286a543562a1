/**
 * Whether a job's model can train on a dataset: the input takes the dataset's features and the output layer has a
 * unit for every class the dataset holds. A mismatch trains nothing useful (or nothing at all) and used to hang
 * silently; `create` checks the creator's dataset and `join` the joiner's, each refusing with a 400 naming it.
 */
import { TrainingError } from '../errors.js'
import { sizeOf } from '../core/tensors.js'
import type { Dataset } from '../data/index.js'
import { outputClasses } from '../model/spec.js'
import type { ModelSpec } from '../protocol/job-schema.js'

/** What does not fit, as a sentence naming both sides, or undefined. Pure. */
export function datasetFitIssue (model: ModelSpec, inputShape: number[] | undefined, ds: Pick<Dataset, 'name' | 'features' | 'classes'>): string | undefined {
  if (inputShape != null && sizeOf(inputShape) !== ds.features) {
    return `dataset ${ds.name} has ${ds.features} features; the job's model takes ${inputShape.join('x')} = ${sizeOf(inputShape)} inputs`
  }
  const outputs = outputClasses(model)
  if (outputs < ds.classes) {
    return `dataset ${ds.name} has ${ds.classes} classes (labels 0..${ds.classes - 1}); the model's output layer has ${outputs} units: it needs at least ${ds.classes}`
  }
  return undefined
}

/** Throw ERR_DATASET (a 400) when the model cannot train on the dataset. */
export function checkDatasetFits (model: ModelSpec, inputShape: number[] | undefined, ds: Pick<Dataset, 'name' | 'features' | 'classes'>): void {
  const issue = datasetFitIssue(model, inputShape, ds)
  if (issue !== undefined) throw new TrainingError('ERR_DATASET', issue)
}
