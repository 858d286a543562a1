/**
 * Export a trained model for other programs: a TensorFlow.js layers model (`model.json` with its topology and
 * weights manifest, plus one `weights.bin`), loadable by `tf.loadLayersModel` in any tfjs program. The exported model
 * ends in a softmax layer, so `predict` gives class probabilities (meshnode's own models output logits).
 */
import { tf } from './backend.js'
import type { Model } from './build.js'

/** What `tf.loadLayersModel` reads: `model.json` (naming `weights.bin`) and the weights' bytes. */
export interface LayersModelFiles {
  modelJson: Record<string, unknown>
  weights: Uint8Array
}

/** The weights file `model.json` names. */
export const WEIGHTS_FILE = 'weights.bin'

/** The model (with its current weights) and a softmax on its logits, as tfjs layers-model files. */
export async function exportLayersModel (model: Model): Promise<LayersModelFiles> {
  const probs = tf.sequential({ name: 'meshnode_export' })
  for (const layer of model.layers) probs.add(layer)
  probs.add(tf.layers.softmax({ name: 'probabilities' }))
  let files: LayersModelFiles | undefined
  await probs.save(tf.io.withSaveHandler(async artifacts => {
    const data = artifacts.weightData
    const bytes = data == null ? new Uint8Array(0) : Array.isArray(data) ? concat(data) : new Uint8Array(data.slice(0))
    files = {
      modelJson: {
        format: 'layers-model',
        generatedBy: 'meshnode',
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }]
      },
      weights: bytes
    }
    return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } }
  }))
  if (files == null) throw new Error('tfjs saved nothing')
  return files
}

function concat (parts: ArrayBuffer[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) { out.set(new Uint8Array(p), at); at += p.byteLength }
  return out
}
