/**
 * A job's initial model as artifact bytes and hash, without blocking the event loop: small models inline, large ones
 * in a worker thread (init-worker.ts). Nothing an API request asks may hold the loop for more than ~50 ms; seeded
 * weights for the largest allowed model take seconds.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { encodeDelta } from '../core/codec.js'
import { modelHash } from '../core/delta.js'
import { sizeOf } from '../core/tensors.js'
import { TrainingError } from '../errors.js'
import { initialWeights } from './init.js'
import { weightPlan, type ModelSpec } from './spec.js'

/** Below this many parameters the model is built inline (a few ms; a worker costs ~50 ms to start). */
export const INLINE_MAX_PARAMS = 500_000

export interface InitRequest { spec: ModelSpec, inputShape: number[] }
export type InitResult = { ok: true, bytes: Uint8Array, hash: string, params: number } | { ok: false, message: string }

/** The built model: the fp32 artifact bytes (codec header + weights), its modelHash and its parameter count. */
export interface InitialModel { bytes: Uint8Array, hash: string, params: number }

/** A worker running the script beside this module: compiled JavaScript, or the TypeScript source through tsx. */
function startWorker (): Worker {
  const js = new URL('./init-worker.js', import.meta.url)
  if (existsSync(fileURLToPath(js))) return new Worker(js)
  // running from src/ (tests, or the CLI without a build): register tsx in the worker, then load the .ts entry
  // the ESM build of tsx's API (require.resolve names its CommonJS twin beside it)
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href
  const ts = new URL('./init-worker.ts', import.meta.url).href
  return new Worker(`import(${JSON.stringify(tsx)}).then(m => { m.register(); return import(${JSON.stringify(ts)}) })`, { eval: true })
}

/** Build, encode and hash the initial model of `spec` at `inputShape` (throws what `initialWeights` throws). */
export async function buildInitialModel (spec: ModelSpec, inputShape: number[]): Promise<InitialModel> {
  const params = weightPlan(spec, inputShape).reduce((n, t) => n + sizeOf(t.shape), 0)
  if (params <= INLINE_MAX_PARAMS) {
    const { flat } = initialWeights(spec, inputShape)
    return { bytes: encodeDelta(flat, { kind: 'fp32' }), hash: modelHash(flat), params: flat.length }
  }
  const worker = startWorker()
  try {
    const result = await new Promise<InitResult>((resolve, reject) => {
      worker.once('message', resolve)
      worker.once('error', reject)
      worker.once('exit', code => { reject(new TrainingError('ERR_BACKEND', `the model builder exited (${code})`)) })
      const req: InitRequest = { spec, inputShape }
      worker.postMessage(req)
    })
    if (!result.ok) throw new TrainingError('ERR_MODEL_SPEC', result.message)
    return { bytes: result.bytes, hash: result.hash, params: result.params }
  } finally {
    void worker.terminate()
  }
}
