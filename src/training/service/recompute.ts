/**
 * The one deterministic path from a base model and a round's compressed deltas to the next model. The aggregator
 * and every verifier call exactly this, so an honest seal is reproduced bit for bit (modelHash). Pure.
 */
import { aggregate } from '../core/aggregate.js'
import { decodeDelta, readDeltaHeader } from '../core/codec.js'
import { applyDelta, validateDelta } from '../core/delta.js'
import { TrainingError } from '../errors.js'
import type { JobSpec } from '../protocol/job-schema.js'

/** A delta as fetched: its CID, who announced it, its sample count and the encoded bytes. */
export interface FetchedDelta {
  cid: string
  peerId: string
  samples: number
  bytes: Uint8Array
}

/** Why a delta was refused; the announcing peer is penalised for each. */
export interface RejectedDelta {
  cid: string
  peerId: string
  code: string
  reason: string
}

/** Decode and check one delta against the model size: undecodable, wrong shape, NaN/Inf are refused. */
export function decodeCheckedDelta (bytes: Uint8Array, params: number): Float32Array {
  // a well-formed delta of another model's size is a shape error, not a codec error
  const header = readDeltaHeader(bytes, { maxElements: 0xffffffff })
  if (header.count !== params) throw new TrainingError('ERR_SHAPE', `delta has ${header.count} parameters, the model has ${params}`)
  const delta = decodeDelta(bytes, { maxElements: params })
  validateDelta(delta, params)
  return delta
}

/** Split fetched deltas into usable ones (decoded) and refused ones (with reason). */
export function screenDeltas (deltas: FetchedDelta[], params: number): { usable: Array<FetchedDelta & { delta: Float32Array }>, rejected: RejectedDelta[] } {
  const usable: Array<FetchedDelta & { delta: Float32Array }> = []
  const rejected: RejectedDelta[] = []
  for (const d of deltas) {
    try {
      usable.push({ ...d, delta: decodeCheckedDelta(d.bytes, params) })
    } catch (err) {
      const code = err instanceof TrainingError ? err.code : 'ERR_DELTA'
      rejected.push({ cid: d.cid, peerId: d.peerId, code, reason: (err as Error).message })
    }
  }
  return { usable, rejected }
}

/** M_{r+1} = M_r + aggregate(deltas), weights = samples, inputs sorted by CID inside `aggregate`. */
export function nextModel (job: Pick<JobSpec, 'aggregation'>, base: Float32Array, deltas: Array<{ cid: string, samples: number, delta: Float32Array }>): Float32Array {
  if (deltas.length === 0) throw new TrainingError('ERR_AGGREGATION', 'no usable deltas to aggregate')
  const { result } = aggregate(job.aggregation, deltas.map(d => ({ id: d.cid, data: d.delta, weight: d.samples })))
  return applyDelta(base, result)
}
