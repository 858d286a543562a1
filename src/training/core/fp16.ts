/**
 * IEEE 754 binary16 conversion for the fp16 delta codec.
 * float32 -> half rounds to nearest, ties to even, with subnormals, overflow to infinity and NaN preserved as a
 * quiet NaN (after F. Giesen's float_to_half_fast3_rtne). half -> float32 is exact and goes through a 64K table.
 */

const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/** Bits of 0.5f: adding it to a tiny value lines its 10 subnormal-half mantissa bits up at the bottom. */
const DENORM_MAGIC_BITS = 126 << 23
const DENORM_MAGIC = 0.5

/** Convert one float32 bit pattern (as a uint32) to a half bit pattern. */
export function halfBitsFromFloat32Bits (bits: number): number {
  const sign = (bits >>> 16) & 0x8000
  let f = bits & 0x7fffffff
  let h: number
  if (f >= 0x47800000) {
    // |x| >= 2^16 (or inf/NaN): beyond the half range after any rounding
    h = f > 0x7f800000 ? 0x7e00 | ((f >>> 13) & 0x1ff) : 0x7c00
  } else if (f < 0x38800000) {
    // |x| < 2^-14: the half is subnormal or zero. A float32 add rounds to nearest-even for us; fround on a double
    // sum of two float32 values is the correctly rounded float32 sum (53 >= 2 * 24 + 2, so no double rounding).
    u32[0] = f
    f32[0] = f32[0] + DENORM_MAGIC
    h = u32[0] - DENORM_MAGIC_BITS
  } else {
    const mantOdd = (f >>> 13) & 1
    // rebias the exponent and add the rounding bias (0xfff + odd bit => ties to even); carries overflow to inf
    f = f + ((15 - 127) << 23) + 0xfff + mantOdd
    h = f >>> 13
  }
  return h | sign
}

/** Convert a float32 value to a half bit pattern (round to nearest even). */
export function float32ToHalf (x: number): number {
  f32[0] = x
  return halfBitsFromFloat32Bits(u32[0])
}

/** Exact value of a half bit pattern as a number. */
function halfValue (h: number): number {
  const sign = (h & 0x8000) !== 0 ? -1 : 1
  const exp = (h >>> 10) & 0x1f
  const mant = h & 0x3ff
  if (exp === 0) return sign * mant * 2 ** -24
  if (exp === 31) return mant === 0 ? sign * Infinity : NaN
  return sign * (1024 + mant) * 2 ** (exp - 25)
}

let table: Float32Array | undefined

/** The 65536-entry half -> float32 table, built on first use (256 KiB). */
function halfTable (): Float32Array {
  if (table === undefined) {
    table = new Float32Array(65536)
    for (let h = 0; h < 65536; h++) table[h] = halfValue(h)
  }
  return table
}

/** Convert a half bit pattern to its float32 value (exact). */
export function halfToFloat32 (h: number): number {
  return halfTable()[h & 0xffff]
}

/** Convert a whole vector to half bit patterns. */
export function encodeHalfArray (src: Float32Array, dst: Uint16Array): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length)
  for (let i = 0; i < src.length; i++) dst[i] = halfBitsFromFloat32Bits(bits[i])
}

/** Convert half bit patterns back to float32 values. */
export function decodeHalfArray (src: Uint16Array, dst: Float32Array): void {
  const t = halfTable()
  for (let i = 0; i < src.length; i++) dst[i] = t[src[i]]
}
