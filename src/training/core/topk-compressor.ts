/**
 * Top-k compression with error feedback: what a round drops is not lost but carried into the next round's delta,
 * so over time every coordinate's full update is eventually sent (Stich et al., "Sparsified SGD with memory").
 * One instance per participant per job; it holds state, but its output is still a pure function of the
 * sequence of deltas it was given.
 */
import { TrainingError } from '../errors.js'
import { encodeSparse } from './codec.js'
import { topKCount, topKSelect } from './topk.js'

/** Stateful top-k encoder that accumulates the dropped remainder between rounds. */
export class TopKCompressor {
  readonly fraction: number
  private residualVec: Float32Array | undefined

  /** @param fraction share of coordinates sent each round, in (0, 1]. */
  constructor (fraction: number) {
    topKCount(1, fraction) // validates the fraction up front
    this.fraction = fraction
  }

  /**
   * Add the carried residual to `delta`, keep the top-k of the sum, encode it (topk codec), and keep what was
   * dropped as the new residual. Kept values are sent exactly (fp32), so their residual is zero.
   */
  compress (delta: Float32Array): Uint8Array {
    const n = delta.length
    if (this.residualVec !== undefined && this.residualVec.length !== n) {
      throw new TrainingError('ERR_SHAPE', `delta has ${n} values but the residual has ${this.residualVec.length}`)
    }
    const corrected = new Float32Array(n)
    const r = this.residualVec
    if (r === undefined) corrected.set(delta)
    else for (let i = 0; i < n; i++) corrected[i] = delta[i] + r[i]
    const sparse = topKSelect(corrected, topKCount(n, this.fraction))
    for (let i = 0; i < sparse.indices.length; i++) corrected[sparse.indices[i]] = 0
    this.residualVec = corrected
    return encodeSparse(n, sparse)
  }

  /** A copy of the carried residual (zeros before the first round). */
  residual (length?: number): Float32Array {
    return this.residualVec?.slice() ?? new Float32Array(length ?? 0)
  }

  /** Forget the carried residual, e.g. when a job restarts from a new global model. */
  reset (): void {
    this.residualVec = undefined
  }
}
