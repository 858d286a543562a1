/**
 * A seeded, deterministic pseudo-random generator for the training core.
 * xoshiro128** (Blackman & Vigna) seeded through a splitmix32 finaliser: 32-bit integer arithmetic only
 * (Math.imul, >>>), so every node on every platform draws the same sequence from the same seed.
 * normal() and gamma() also call Math.log / Math.pow / Math.sqrt: sqrt is exact in IEEE 754 and V8 implements
 * log and pow with its own fixed fdlibm port, so those draws are reproducible across platforms on one Node line.
 */
import { TrainingError } from '../errors.js'

/** The randomness the pure core consumes; inject one instead of calling Math.random. */
export interface Rng {
  /** A uniform double in [0, 1) with 53 random bits. */
  next: () => number
  /** A uniform integer in [0, n), unbiased (rejection sampling); n is an integer in [1, 2^32]. */
  int: (n: number) => number
  /** A standard normal draw (mean 0, variance 1). */
  normal: () => number
  /** A Gamma(alpha, 1) draw, alpha > 0 (Marsaglia-Tsang). */
  gamma: (alpha: number) => number
  /** Fisher-Yates shuffle IN PLACE; returns the same array for chaining. */
  shuffle: <T>(a: T[]) => T[]
}

const TWO_32 = 4294967296
const TWO_53 = 9007199254740992

/** splitmix32's output function: a bijection on uint32, so distinct inputs give distinct state words. */
function mix32 (x: number): number {
  let z = (x + 0x9e3779b9) | 0
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return (z ^ (z >>> 16)) >>> 0
}

/**
 * Create a generator from a safe-integer seed (negative allowed). Both 32-bit halves of the seed feed the state,
 * so seeds above 2^32 do not collide with small ones.
 */
export function createRng (seed: number): Rng {
  if (!Number.isSafeInteger(seed)) throw new TrainingError('ERR_ARGUMENT', `rng seed must be a safe integer, got ${seed}`)
  const lo = seed >>> 0
  const hi = Math.floor(seed / TWO_32) >>> 0
  let s0 = mix32(lo)
  const s1 = mix32(lo ^ 0x6a09e667)
  const s2 = mix32(hi)
  const s3 = mix32(hi ^ 0xbb67ae85)
  // xoshiro must never run from the all-zero state
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1

  const u32 = xoshiro128StarStar(s0, s1, s2, s3)

  function next (): number {
    // 27 + 26 bits, the standard construction for a 53-bit double from two 32-bit draws
    return ((u32() >>> 5) * 67108864 + (u32() >>> 6)) / TWO_53
  }

  function int (n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_32) throw new TrainingError('ERR_ARGUMENT', `rng.int bound must be an integer in [1, 2^32], got ${n}`)
    // reject the top sliver of uint32 so that every residue is equally likely
    const limit = TWO_32 - (TWO_32 % n)
    for (;;) {
      const u = u32()
      if (u < limit) return u % n
    }
  }

  function normal (): number {
    // Marsaglia polar method: no trigonometry, only sqrt (exact in IEEE) and log
    for (;;) {
      const u = 2 * next() - 1
      const v = 2 * next() - 1
      const s = u * u + v * v
      if (s > 0 && s < 1) return u * Math.sqrt(-2 * Math.log(s) / s)
    }
  }

  function gamma (alpha: number): number {
    if (!(alpha > 0) || !Number.isFinite(alpha)) throw new TrainingError('ERR_ARGUMENT', `gamma shape must be finite and > 0, got ${alpha}`)
    if (alpha < 1) {
      // boost: Gamma(a) = Gamma(a + 1) * U^(1/a), U in (0, 1]
      return gamma(alpha + 1) * Math.pow(1 - next(), 1 / alpha)
    }
    const d = alpha - 1 / 3
    const c = 1 / Math.sqrt(9 * d)
    for (;;) {
      const x = normal()
      let v = 1 + c * x
      if (v <= 0) continue
      v = v * v * v
      const u = next()
      const x2 = x * x
      if (u < 1 - 0.0331 * x2 * x2) return d * v
      if (Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v
    }
  }

  function shuffle<T> (a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = int(i + 1)
      const t = a[i]
      a[i] = a[j]
      a[j] = t
    }
    return a
  }

  return { next, int, normal, gamma, shuffle }
}

/**
 * The raw xoshiro128** generator from an explicit 128-bit state (not all zero): each call returns a uniform uint32.
 * Exposed so the reference vectors of the published algorithm can be checked.
 */
export function xoshiro128StarStar (a: number, b: number, c: number, d: number): () => number {
  let s0 = a | 0
  let s1 = b | 0
  let s2 = c | 0
  let s3 = d | 0
  return () => {
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0
    const t = s1 << 9
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = rotl(s3, 11)
    return r
  }
}

function rotl (x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}
