/**
 * Byzantine behaviours for robustness tests and simulations, selected by the node option `training.adversary`.
 * An honest node never sets it. Each turns the honest delta into what a faulty or malicious peer would publish, so
 * the mesh's defences (robust aggregation, delta screening, penalties) are tested against real nodes.
 */
import { randomBytes } from 'node:crypto'
import { encodeDelta, type CompressionSpec } from '../core/codec.js'

/** The Byzantine behaviours a test node can be told to show. */
export const ADVERSARY_KINDS = ['sign-flip', 'nan', 'wrong-shape', 'oversized', 'garbage', 'unfetchable', 'wrong-seal'] as const

/** One of `ADVERSARY_KINDS`. */
export type AdversaryKind = typeof ADVERSARY_KINDS[number]

/** A node's Byzantine behaviour and its strength (sign-flip's factor). */
export interface Adversary { kind: AdversaryKind, scale: number }

/**
 * The bytes an adversary stores instead of its honest delta. `unfetchable` returns null: the caller announces a CID
 * whose bytes it never stores.
 */
export function corruptDelta (adv: Adversary, delta: Float32Array, compression: CompressionSpec): Uint8Array | null {
  switch (adv.kind) {
    case 'sign-flip': return encodeDelta(delta.map(v => -adv.scale * v), compression)
    case 'nan': { const d = delta.slice(); d[0] = Number.NaN; d[d.length - 1] = Number.POSITIVE_INFINITY; return encodeDelta(d, { kind: 'fp32' }) }
    case 'wrong-shape': return encodeDelta(new Float32Array(delta.length + 7), { kind: 'fp32' })
    case 'oversized': return encodeDelta(new Float32Array(delta.length * 3), { kind: 'fp32' })
    case 'garbage': return new Uint8Array(randomBytes(delta.length))
    case 'unfetchable': return null
    // honest deltas: this one lies in the seals it makes as aggregator (RoundWork.aggregate)
    case 'wrong-seal': return encodeDelta(delta, compression)
  }
}
