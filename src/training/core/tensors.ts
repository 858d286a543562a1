/**
 * Flat model weights with a shape manifest: the one representation the training core works on.
 * A model's weights are the concatenation of its tensors in manifest order, as one Float32Array.
 */
import { TrainingError } from '../errors.js'

/** One tensor's name and shape inside a flat weight vector. */
export interface TensorSpec {
  name: string
  shape: number[]
}

/** The ordered list of tensors that a flat weight vector concatenates. */
export type ShapeManifest = TensorSpec[]

/** Number of elements in a tensor of this shape. */
export function sizeOf (shape: readonly number[]): number {
  let n = 1
  for (const d of shape) n *= d
  return n
}

/** Total number of parameters described by a manifest. */
export function manifestSize (manifest: ShapeManifest): number {
  let n = 0
  for (const t of manifest) n += sizeOf(t.shape)
  return n
}

/** Concatenate per-tensor arrays (in manifest order) into one flat vector, checking sizes. */
export function flatten (manifest: ShapeManifest, tensors: ArrayLike<number>[]): Float32Array {
  if (tensors.length !== manifest.length) throw new TrainingError('ERR_SHAPE', `expected ${manifest.length} tensors, got ${tensors.length}`)
  const out = new Float32Array(manifestSize(manifest))
  let off = 0
  manifest.forEach((t, i) => {
    const n = sizeOf(t.shape)
    if (tensors[i].length !== n) throw new TrainingError('ERR_SHAPE', `tensor ${t.name} has ${tensors[i].length} values, expected ${n}`)
    out.set(tensors[i], off)
    off += n
  })
  return out
}

/** Split a flat vector into per-tensor views (no copies), in manifest order. */
export function unflatten (manifest: ShapeManifest, flat: Float32Array): Float32Array[] {
  if (flat.length !== manifestSize(manifest)) throw new TrainingError('ERR_SHAPE', `flat vector has ${flat.length} values, manifest needs ${manifestSize(manifest)}`)
  const out: Float32Array[] = []
  let off = 0
  for (const t of manifest) {
    const n = sizeOf(t.shape)
    out.push(flat.subarray(off, off + n))
    off += n
  }
  return out
}

/** True when two manifests describe the same tensors in the same order. */
export function sameManifest (a: ShapeManifest, b: ShapeManifest): boolean {
  return a.length === b.length && a.every((t, i) => t.name === b[i].name && t.shape.length === b[i].shape.length &&
    t.shape.every((d, j) => d === b[i].shape[j]))
}
