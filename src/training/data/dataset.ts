/**
 * The in-memory dataset every training path uses: row-major float features and integer labels.
 */
import { TrainingError } from '../errors.js'

/** Per-feature standardisation applied at import: `x' = (x - mean) / scale`; predictions apply it to raw rows. */
export interface Standardization { mean: number[], scale: number[] }

/**
 * A labelled dataset. `x` is row-major `[rows, features]`; `y[i]` is in `[0, classes)`; `shape` is the per-row image
 * shape; `labels` names the classes (by index) when the file named them; `standardization` is what import applied.
 */
export interface Dataset {
  name: string
  x: Float32Array
  y: Int32Array
  features: number
  classes: number
  shape?: number[]
  labels?: string[]
  standardization?: Standardization
}

/** The metadata of a dataset that travels with its subsets, its file and the models trained on it. */
export function datasetExtras (ds: Pick<Dataset, 'shape' | 'labels' | 'standardization'>): Pick<Dataset, 'shape' | 'labels' | 'standardization'> {
  return {
    ...(ds.shape != null ? { shape: [...ds.shape] } : {}),
    ...(ds.labels != null ? { labels: [...ds.labels] } : {}),
    ...(ds.standardization != null ? { standardization: { mean: [...ds.standardization.mean], scale: [...ds.standardization.scale] } } : {})
  }
}

/** Number of rows. */
export function rows (ds: Pick<Dataset, 'y'>): number {
  return ds.y.length
}

/** Check a dataset's internal consistency (sizes, finite features, label range); throws `ERR_DATASET`. */
export function validateDataset (ds: Dataset): Dataset {
  const n = ds.y.length
  if (!Number.isInteger(ds.features) || ds.features < 1) throw new TrainingError('ERR_DATASET', `features must be a positive integer, got ${ds.features}`)
  if (!Number.isInteger(ds.classes) || ds.classes < 1) throw new TrainingError('ERR_DATASET', `classes must be a positive integer, got ${ds.classes}`)
  if (ds.x.length !== n * ds.features) throw new TrainingError('ERR_DATASET', `x holds ${ds.x.length} values, expected ${n} rows x ${ds.features}`)
  if (ds.shape != null && ds.shape.reduce((a, b) => a * b, 1) !== ds.features) {
    throw new TrainingError('ERR_DATASET', `shape ${ds.shape.join('x')} does not hold ${ds.features} features`)
  }
  if (ds.labels != null && ds.labels.length > ds.classes) throw new TrainingError('ERR_DATASET', `${ds.labels.length} class names for ${ds.classes} classes`)
  const st = ds.standardization
  if (st != null && (st.mean.length !== ds.features || st.scale.length !== ds.features || st.scale.some(v => !(v > 0) || !Number.isFinite(v)) || st.mean.some(v => !Number.isFinite(v)))) {
    throw new TrainingError('ERR_DATASET', 'standardization needs a finite mean and a positive scale per feature')
  }
  for (let i = 0; i < n; i++) {
    const c = ds.y[i]
    if (c < 0 || c >= ds.classes) throw new TrainingError('ERR_DATASET', `row ${i}: label ${c} outside [0, ${ds.classes})`)
  }
  for (let i = 0; i < ds.x.length; i++) {
    if (!Number.isFinite(ds.x[i])) throw new TrainingError('ERR_DATASET', `row ${Math.floor(i / ds.features)}: non-finite feature`)
  }
  return ds
}

/** A new dataset holding the given rows, in the given order (copies; indices are checked). */
export function subset (ds: Dataset, indices: ArrayLike<number>, name: string = ds.name): Dataset {
  const f = ds.features
  const n = ds.y.length
  const x = new Float32Array(indices.length * f)
  const y = new Int32Array(indices.length)
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i]
    if (!Number.isInteger(r) || r < 0 || r >= n) throw new TrainingError('ERR_DATASET', `subset index ${r} outside [0, ${n})`)
    x.set(ds.x.subarray(r * f, (r + 1) * f), i * f)
    y[i] = ds.y[r]
  }
  return { name, x, y, features: f, classes: ds.classes, ...datasetExtras(ds) }
}

/** Row counts per class. */
export function classCounts (ds: Pick<Dataset, 'y' | 'classes'>): number[] {
  const counts = new Array<number>(ds.classes).fill(0)
  for (let i = 0; i < ds.y.length; i++) counts[ds.y[i]]++
  return counts
}
