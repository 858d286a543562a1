/**
 * Using a job's trained model: export it (TensorFlow.js layers files, the raw MND1 tensor file, and `meshnode.json`
 * saying what it is), evaluate it on labelled data, and predict classes for raw rows (the stored standardisation is
 * applied first, the class names mapped back).
 */
import { TrainingError } from '../errors.js'
import { encodeDelta } from '../core/codec.js'
import { modelHash } from '../core/delta.js'
import { applyStandardization, type Dataset, type DatasetStore, type Standardization } from '../data/index.js'
import type { EvalResult } from '../model/train.js'
import type { LayersModelFiles } from '../model/export.js'
import type { ModelSpec } from '../protocol/job-schema.js'
import { loadDataset, localData } from './local-data.js'
import type { JobRuntime } from './runtime.js'
import type { RoundWork } from './work.js'

/** `meshnode.json`, written beside an exported model. */
export interface ExportMeta {
  format: 'meshnode-model'
  version: 1
  job: string
  /** Accepted rounds the model is the result of (the model is M_round). */
  round: number
  modelCid: string
  /** sha256 of the float32 little-endian weights, as every node computes it. */
  modelHash: string
  model: ModelSpec
  features: number
  inputShape: number[]
  classes: number
  /** Class names by class index, or null when the classes are the indices themselves. */
  classLabels: string[] | null
  /** Apply to raw rows before predicting: `(x - mean) / scale` per feature; null when the data was not scaled. */
  standardization: Standardization | null
  /** The dataset the names and scaling come from (this node's). */
  dataset: string
  /** What the tfjs model outputs; the raw MND1 file holds the logits model's weights in manifest order. */
  outputs: 'probabilities'
}

/** An exported model: the tfjs files, the raw tensor file and its description. */
export interface ModelExport { layers: LayersModelFiles, raw: Uint8Array, meta: ExportMeta }

/** Model evaluation as the API renders it. */
export interface Evaluation {
  job: string
  round: number
  modelCid: string
  dataset: string
  rows: number
  accuracy: number
  loss: number
  precision: number
  recall: number
  f1: number
  /** confusion[true][predicted]. */
  confusion: number[][]
  classLabels: string[] | null
}

/** One prediction per row. */
export interface Prediction { class: number, label: string, probabilities: number[] }

/** The dataset whose class names and scaling describe the job's model on this node: the one it joined with, else the job's. */
async function describingDataset (job: JobRuntime, store: DatasetStore): Promise<Dataset | undefined> {
  try {
    return await loadDataset(job.join?.dataset ?? job.spec.dataset, store)
  } catch {
    return undefined
  }
}

function current (job: JobRuntime): { round: number, modelCid: string } {
  const v = job.machine.view()
  return { round: v.round, modelCid: v.baseModelCid }
}

/** Export the job's current global model. */
export async function exportModel (job: JobRuntime, work: RoundWork, store: DatasetStore): Promise<ModelExport> {
  const { round, modelCid } = current(job)
  const flat = await work.loadModelWeights(job, modelCid)
  const layers = await work.exportLayers(job, modelCid)
  const ds = await describingDataset(job, store)
  const spec = job.spec.model
  const classes = spec.arch === 'mlp' ? spec.layers[spec.layers.length - 1] : spec.classes
  return {
    layers,
    raw: encodeDelta(flat, { kind: 'fp32' }),
    meta: {
      format: 'meshnode-model',
      version: 1,
      job: job.spec.id,
      round,
      modelCid,
      modelHash: modelHash(flat),
      model: spec,
      features: job.inputShape.reduce((a, b) => a * b, 1),
      inputShape: job.inputShape,
      classes,
      classLabels: ds?.labels ?? null,
      standardization: ds?.standardization ?? null,
      dataset: ds?.name ?? job.join?.dataset ?? job.spec.dataset,
      outputs: 'probabilities'
    }
  }
}

/**
 * Evaluate the job's current model: on a named dataset (all its rows), or by default on this node's held-out split
 * of the data it joined with.
 */
export async function evaluateModel (job: JobRuntime, work: RoundWork, store: DatasetStore, datasetName?: string): Promise<Evaluation> {
  const { round, modelCid } = current(job)
  let data: Dataset
  if (datasetName != null) data = await loadDataset(datasetName, store)
  else if (job.join != null) data = (job.data ?? await localData(job.join, store)).test
  else throw new TrainingError('ERR_JOB', 'this node did not join the job: name a dataset to evaluate on')
  const features = job.inputShape.reduce((a, b) => a * b, 1)
  if (data.features !== features) throw new TrainingError('ERR_DATASET', `dataset ${data.name} has ${data.features} features; the job's model takes ${features}`)
  const e: EvalResult = await work.evaluateOn(job, modelCid, data)
  return {
    job: job.spec.id, round, modelCid, dataset: datasetName ?? job.join?.dataset ?? data.name, rows: data.y.length,
    accuracy: e.accuracy, loss: e.loss, precision: e.precision, recall: e.recall, f1: e.f1, confusion: e.confusion,
    classLabels: data.labels ?? null
  }
}

/** Predict a class for each raw row (standardised first when this node's data was). */
export async function predictRows (job: JobRuntime, work: RoundWork, store: DatasetStore, rows: number[][]): Promise<{ round: number, modelCid: string, predictions: Prediction[] }> {
  const { round, modelCid } = current(job)
  const features = job.inputShape.reduce((a, b) => a * b, 1)
  rows.forEach((r, i) => { if (r.length !== features) throw new TrainingError('ERR_SHAPE', `row ${i + 1} has ${r.length} values; the model takes ${features} features`) })
  const ds = await describingDataset(job, store)
  let x: Float32Array = Float32Array.from(rows.flat())
  if (ds?.standardization != null) x = applyStandardization(x, features, ds.standardization)
  const { probabilities, outputs } = await work.predict(job, modelCid, x)
  const predictions = rows.map((_, i) => {
    const p = Array.from(probabilities.subarray(i * outputs, (i + 1) * outputs))
    let best = 0
    for (let k = 1; k < p.length; k++) if (p[k] > p[best]) best = k
    return { class: best, label: ds?.labels?.[best] ?? String(best), probabilities: p }
  })
  return { round, modelCid, predictions }
}
