/**
 * Warm start: a job created with `init: { model: CID }` starts from that trained model instead of the weights its
 * seed builds. The creator checks the model fits the job's architecture (its parameter count) and announces its hash
 * (`spec.warmStart.modelHash`); every joiner fetches it and checks the same before training on it.
 */
import { TrainingError } from '../errors.js'
import { decodeDelta } from '../core/codec.js'
import { modelHash } from '../core/delta.js'
import { manifestSize } from '../core/tensors.js'
import { modelManifest, type ModelSpec } from '../model/spec.js'
import type { TrainingArtifacts } from './components.js'

/** The model at `cid`, checked to have exactly the parameters of `model` on `inputShape`; its hash. */
export async function warmStartModel (artifacts: TrainingArtifacts, cid: string, model: ModelSpec, inputShape: number[], timeoutMs: number): Promise<{ cid: string, modelHash: string }> {
  const params = manifestSize(modelManifest(model, inputShape))
  let bytes: Uint8Array
  try {
    bytes = await artifacts.cat(cid, { timeoutMs, maxBytes: 64 + params * 4 })
  } catch (err) {
    throw new TrainingError('ERR_DATASET', `cannot read the warm-start model ${cid}: ${(err as Error).message}`)
  }
  let flat: Float32Array
  try {
    flat = decodeDelta(bytes, { maxElements: params })
  } catch (err) {
    throw new TrainingError('ERR_MODEL_SPEC', `${cid} is not a model of this architecture: ${(err as Error).message}`)
  }
  if (flat.length !== params) throw new TrainingError('ERR_MODEL_SPEC', `the warm-start model ${cid} has ${flat.length} parameters; the job's model has ${params}`)
  return { cid, modelHash: modelHash(flat) }
}
