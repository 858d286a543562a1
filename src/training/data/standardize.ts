/**
 * Feature scaling at import: per-feature standardisation (`x' = (x - mean) / scale`, scale the population standard
 * deviation, 1 for a constant feature), and the check that warns when feature ranges differ by orders of magnitude
 * (a wine CSV as imported trained to one class for 30 rounds). Pure.
 */
import { TrainingError } from '../errors.js'
import type { Dataset, Standardization } from './dataset.js'

/** Ranges further apart than this factor draw a warning (two orders of magnitude). */
export const RANGE_WARNING_RATIO = 100

/** The per-feature mean and scale of a dataset's rows. */
export function fitStandardization (ds: Pick<Dataset, 'x' | 'features'>): Standardization {
  const f = ds.features
  const n = ds.x.length / f
  const mean = new Array<number>(f).fill(0)
  const sq = new Array<number>(f).fill(0)
  for (let r = 0; r < n; r++) for (let c = 0; c < f; c++) mean[c] += ds.x[r * f + c]
  for (let c = 0; c < f; c++) mean[c] /= Math.max(1, n)
  for (let r = 0; r < n; r++) for (let c = 0; c < f; c++) { const d = ds.x[r * f + c] - mean[c]; sq[c] += d * d }
  const scale = sq.map(s => { const sd = Math.sqrt(s / Math.max(1, n)); return sd > 1e-12 && Number.isFinite(sd) ? sd : 1 })
  return { mean, scale }
}

/** Rows standardised with `st` (a new array); throws ERR_SHAPE when the widths differ. */
export function applyStandardization (x: Float32Array, features: number, st: Standardization): Float32Array {
  if (st.mean.length !== features || x.length % features !== 0) throw new TrainingError('ERR_SHAPE', `standardization for ${st.mean.length} features applied to rows of ${features}`)
  const out = new Float32Array(x.length)
  for (let i = 0; i < x.length; i++) { const c = i % features; out[i] = (x[i] - st.mean[c]) / st.scale[c] }
  return out
}

/** The dataset standardised, with the statistics kept in it (a dataset already standardised is refused). */
export function standardize (ds: Dataset): Dataset {
  if (ds.standardization != null) throw new TrainingError('ERR_DATASET', `dataset ${ds.name} is already standardised`)
  const st = fitStandardization(ds)
  return { ...ds, x: applyStandardization(ds.x, ds.features, st), standardization: st }
}

/**
 * A warning when the features' value ranges (max - min, constant features left out) differ by more than
 * RANGE_WARNING_RATIO, or undefined. Images (a `shape`) share one scale by nature and are not checked.
 */
export function featureRangeWarning (ds: Pick<Dataset, 'x' | 'features' | 'shape' | 'standardization'>): string | undefined {
  if (ds.shape != null || ds.standardization != null) return undefined
  const f = ds.features
  const lo = new Array<number>(f).fill(Infinity)
  const hi = new Array<number>(f).fill(-Infinity)
  for (let i = 0; i < ds.x.length; i++) { const c = i % f; const v = ds.x[i]; if (v < lo[c]) lo[c] = v; if (v > hi[c]) hi[c] = v }
  let min = Infinity; let max = 0; let minAt = 0; let maxAt = 0
  for (let c = 0; c < f; c++) {
    const range = hi[c] - lo[c]
    if (!(range > 0)) continue
    if (range < min) { min = range; minAt = c }
    if (range > max) { max = range; maxAt = c }
  }
  if (!(min > 0) || max / min <= RANGE_WARNING_RATIO) return undefined
  return `feature ranges differ by a factor of ${Math.round(max / min)} (feature ${maxAt + 1} spans ${+max.toPrecision(3)}, feature ${minAt + 1} spans ${+min.toPrecision(3)}): import with --standardize, or the model may learn only the widest features`
}
