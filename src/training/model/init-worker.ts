/**
 * Worker thread entry: builds a job's initial model (seeded Glorot weights), encodes it as the fp32 artifact and hashes
 * it, off the daemon's event loop. A 34M-parameter model takes seconds of pure computation; on the main thread that
 * froze the admin API, pings and gossip (issue 10, defect 1). Used through `buildInitialModel` (init-build.ts).
 */
import { parentPort } from 'node:worker_threads'
import { encodeDelta } from '../core/codec.js'
import { modelHash } from '../core/delta.js'
import { initialWeights } from './init.js'
import type { InitRequest, InitResult } from './init-build.js'

parentPort?.on('message', (req: InitRequest) => {
  try {
    const { flat } = initialWeights(req.spec, req.inputShape)
    const bytes = encodeDelta(flat, { kind: 'fp32' })
    const result: InitResult = { ok: true, bytes, hash: modelHash(flat), params: flat.length }
    parentPort?.postMessage(result, [bytes.buffer as ArrayBuffer])
  } catch (err) {
    const result: InitResult = { ok: false, message: (err as Error).message }
    parentPort?.postMessage(result)
  }
})
