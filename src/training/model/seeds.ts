/**
 * Seed derivation for the model shell: one job seed fans out into independent streams (initial weights per tensor,
 * batch order per client and round) through an integer-only mixer, identical on every platform.
 */
import type { Rng } from '../core/rng.js'

function mix32 (x: number): number {
  let z = (x + 0x9e3779b9) | 0
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return (z ^ (z >>> 16)) >>> 0
}

/** Mix integers (a seed, a stream tag, an index...) into one uint32 seed; each part's two 32-bit halves count. */
export function deriveSeed (...parts: number[]): number {
  let h = 0x811c9dc5
  for (const p of parts) {
    h = mix32(h ^ (p >>> 0))
    h = mix32(h ^ (Math.floor(p / 4294967296) >>> 0))
  }
  return h
}

/** Fisher-Yates permutation of `0..n-1` driven by `rng`. */
export function permutation (n: number, rng: Rng): Int32Array {
  const out = new Int32Array(n)
  for (let i = 0; i < n; i++) out[i] = i
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    const t = out[i]; out[i] = out[j]; out[j] = t
  }
  return out
}
