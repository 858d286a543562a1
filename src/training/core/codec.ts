/**
 * The versioned binary format of a (compressed) delta, as stored in Helia and fetched by aggregators.
 *
 * Layout, all integers little-endian, 16-byte header so every body array starts 4-byte aligned:
 * ```
 *   0  'MND1'        magic
 *   4  u8 version    = 1
 *   5  u8 codec      0 fp32 | 1 fp16 | 2 int8 | 3 topk
 *   6  u16 reserved  = 0
 *   8  u32 count     number of elements of the dense delta
 *  12  u32 param     fp32/fp16: 0 | int8: block size | topk: k, the number of kept entries
 *  16  body          fp32: count x f32 | fp16: count x u16 half bits
 *                    int8: ceil(count / block) x f32 scales, then count x i8 (in [-127, 127])
 *                    topk: k x u32 indices (strictly ascending, < count), then k x f32 values
 * ```
 * Decoding is strict (exact length, canonical fields) because the bytes come from untrusted peers: anything off is
 * ERR_CODEC, and the element count is checked against the caller's cap before anything is allocated.
 */
import { TrainingError } from '../errors.js'
import type { CompressionKind, CompressionSpec } from '../protocol/job-schema.js'
import { MAX_INT8_BLOCK } from '../protocol/limits.js'
import { decodeHalfArray, encodeHalfArray } from './fp16.js'
import { topKCount, topKSelect, type SparseVector } from './topk.js'

/** How a delta is compressed on the wire (its schema is the job contract's `CompressionSpecSchema`). */
export type { CompressionSpec }

/** Options for {@link decodeDelta}; `maxElements` caps the dense size a peer can make us allocate. */
export interface DecodeOptions {
  maxElements: number
}

/** The parsed fixed header of an encoded delta. */
export interface DeltaHeader {
  version: number
  kind: CompressionSpec['kind']
  count: number
  /** int8: block size; topk: number of kept entries; 0 otherwise. */
  param: number
}

/** The four magic bytes 'MND1'. */
export const DELTA_MAGIC = Uint8Array.of(0x4d, 0x4e, 0x44, 0x31)
/** The only format version this code writes and reads. */
export const DELTA_FORMAT_VERSION = 1
/** Size of the fixed header in bytes. */
export const DELTA_HEADER_BYTES = 16
/** Default int8 block size: one float32 scale per 256 values costs 1.6% over the 1-byte payload. */
export const DEFAULT_INT8_BLOCK = 256
export { MAX_INT8_BLOCK }

/** The codec byte of each compression (header offset 5): part of the delta format, never renumbered. */
const ID_BY_KIND: Readonly<Record<CompressionKind, number>> = { fp32: 0, fp16: 1, int8: 2, topk: 3 }
const KIND_BY_ID: ReadonlyMap<number, CompressionKind> = new Map(Object.entries(ID_BY_KIND).map(([k, id]) => [id, k as CompressionKind]))
const MAX_U32 = 0xffffffff
const LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

function codecError (message: string): TrainingError {
  return new TrainingError('ERR_CODEC', message)
}

/** Number of int8 blocks (and scales) for `count` elements. */
function blockCount (count: number, blockSize: number): number {
  return Math.ceil(count / blockSize)
}

/** The adjacent float32 (direction +1 up, -1 down) of a non-negative finite float32. */
function float32Step (x: number, direction: 1 | -1): number {
  const u = new Uint32Array(Float32Array.of(x).buffer)
  u[0] += direction
  return new Float32Array(u.buffer)[0]
}

function checkBlockSize (bs: number): void {
  if (!Number.isInteger(bs) || bs < 1 || bs > MAX_INT8_BLOCK) throw codecError(`int8 block size must be an integer in [1, ${MAX_INT8_BLOCK}], got ${bs}`)
}

/** Body size in bytes for a header, or throws ERR_CODEC for parameters no encoder writes. */
function bodyBytes (h: DeltaHeader): number {
  switch (h.kind) {
    case 'fp32': return h.count * 4
    case 'fp16': return h.count * 2
    case 'int8': return blockCount(h.count, h.param) * 4 + h.count
    case 'topk': return h.param * 8
  }
}

/** Exact encoded size of `count` elements under `spec` (for budgeting and tests). */
export function encodedSize (count: number, spec: CompressionSpec): number {
  const param = spec.kind === 'int8' ? (spec.blockSize ?? DEFAULT_INT8_BLOCK) : spec.kind === 'topk' ? topKCount(count, spec.fraction) : 0
  if (spec.kind === 'int8') checkBlockSize(param)
  return DELTA_HEADER_BYTES + bodyBytes({ version: DELTA_FORMAT_VERSION, kind: spec.kind, count, param })
}

function writeHeader (out: Uint8Array, kind: CompressionSpec['kind'], count: number, param: number): void {
  out.set(DELTA_MAGIC, 0)
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength)
  dv.setUint8(4, DELTA_FORMAT_VERSION)
  dv.setUint8(5, ID_BY_KIND[kind])
  dv.setUint16(6, 0, true)
  dv.setUint32(8, count, true)
  dv.setUint32(12, param, true)
}

/** Copy a 4-byte typed array into `out` at `off` as little-endian. */
function put32 (out: Uint8Array, off: number, src: Float32Array | Uint32Array): void {
  if (LE) {
    out.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), off)
    return
  }
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength)
  if (src instanceof Float32Array) for (let i = 0; i < src.length; i++) dv.setFloat32(off + i * 4, src[i], true)
  else for (let i = 0; i < src.length; i++) dv.setUint32(off + i * 4, src[i], true)
}

/** Read `dst.length` little-endian 4-byte values from `b` at `off` (copies, so `b` need not be aligned). */
function get32<T extends Float32Array | Uint32Array> (b: Uint8Array, off: number, dst: T): T {
  if (LE) {
    new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(b.subarray(off, off + dst.byteLength))
    return dst
  }
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  if (dst instanceof Float32Array) for (let i = 0; i < dst.length; i++) dst[i] = dv.getFloat32(off + i * 4, true)
  else for (let i = 0; i < dst.length; i++) dst[i] = dv.getUint32(off + i * 4, true)
  return dst
}

function encodeFp16 (delta: Float32Array): Uint8Array {
  const out = new Uint8Array(DELTA_HEADER_BYTES + delta.length * 2)
  writeHeader(out, 'fp16', delta.length, 0)
  const half = new Uint16Array(delta.length)
  encodeHalfArray(delta, half)
  if (LE) out.set(new Uint8Array(half.buffer), DELTA_HEADER_BYTES)
  else {
    const dv = new DataView(out.buffer)
    for (let i = 0; i < half.length; i++) dv.setUint16(DELTA_HEADER_BYTES + i * 2, half[i], true)
  }
  return out
}

function encodeInt8 (delta: Float32Array, blockSize: number): Uint8Array {
  checkBlockSize(blockSize)
  const n = delta.length
  const nb = blockCount(n, blockSize)
  const out = new Uint8Array(DELTA_HEADER_BYTES + nb * 4 + n)
  writeHeader(out, 'int8', n, blockSize)
  const scales = new Float32Array(nb)
  const q = new Int8Array(out.buffer, DELTA_HEADER_BYTES + nb * 4, n)
  for (let b = 0; b < nb; b++) {
    const start = b * blockSize
    const end = Math.min(n, start + blockSize)
    let maxAbs = 0
    for (let i = start; i < end; i++) {
      const x = delta[i]
      if (!Number.isFinite(x)) throw new TrainingError('ERR_NONFINITE', `int8 input[${i}] is ${x}`)
      const a = Math.abs(x)
      if (a > maxAbs) maxAbs = a
    }
    let scale = Math.fround(maxAbs / 127)
    // For tiny blocks the scale lands among float32 subnormals and may round far down (even to 0): step up so
    // that |x| / scale <= 127.5 and the error stays <= scale / 2. Near FLT_MAX a rounded-up scale would decode
    // 127 * scale to infinity: step down (that costs ~127 ulp of the scale, far below scale / 2).
    if (scale * 127.5 < maxAbs) scale = float32Step(scale, 1)
    else if (Math.fround(127 * scale) === Infinity) scale = float32Step(scale, -1)
    scales[b] = scale
    if (scale === 0) continue
    for (let i = start; i < end; i++) {
      // symmetric rounding (half away from zero) so q(-x) = -q(x)
      const r = delta[i] / scale
      let v = r >= 0 ? Math.floor(r + 0.5) : -Math.floor(0.5 - r)
      if (v > 127) v = 127
      else if (v < -127) v = -127
      q[i] = v
    }
  }
  put32(out, DELTA_HEADER_BYTES, scales)
  return out
}

/** Encode an already-selected sparse vector of a dense length `count` (the top-k body). */
export function encodeSparse (count: number, sparse: SparseVector): Uint8Array {
  const k = sparse.indices.length
  if (sparse.values.length !== k || k > count) throw new TrainingError('ERR_SHAPE', `sparse vector has ${k} indices and ${sparse.values.length} values for ${count} elements`)
  for (let i = 0; i < k; i++) {
    if (sparse.indices[i] >= count || (i > 0 && sparse.indices[i] <= sparse.indices[i - 1])) throw new TrainingError('ERR_SHAPE', 'sparse indices must be strictly ascending and < count')
  }
  const out = new Uint8Array(DELTA_HEADER_BYTES + k * 8)
  writeHeader(out, 'topk', count, k)
  put32(out, DELTA_HEADER_BYTES, sparse.indices)
  put32(out, DELTA_HEADER_BYTES + k * 4, sparse.values)
  return out
}

/**
 * Serialise a delta with the given compression. fp32/fp16 carry any value (inf/NaN included; fp16 rounds to
 * nearest even); int8 and topk need finite input (ERR_NONFINITE). Plain topk here has no error feedback: use a
 * TopKCompressor across rounds.
 */
export function encodeDelta (delta: Float32Array, spec: CompressionSpec): Uint8Array {
  if (delta.length > MAX_U32) throw codecError(`delta too long: ${delta.length}`)
  switch (spec.kind) {
    case 'fp32': {
      const out = new Uint8Array(DELTA_HEADER_BYTES + delta.length * 4)
      writeHeader(out, 'fp32', delta.length, 0)
      put32(out, DELTA_HEADER_BYTES, delta)
      return out
    }
    case 'fp16': return encodeFp16(delta)
    case 'int8': return encodeInt8(delta, spec.blockSize ?? DEFAULT_INT8_BLOCK)
    case 'topk': return encodeSparse(delta.length, topKSelect(delta, topKCount(delta.length, spec.fraction)))
    default: throw codecError(`unknown compression kind ${(spec as { kind: unknown }).kind}`)
  }
}

/**
 * Parse and check the fixed header (magic, version, codec, count cap, params, exact total length) without
 * decoding the body; shells can use it to reject an oversize delta cheaply.
 */
export function readDeltaHeader (bytes: Uint8Array, opts: DecodeOptions): DeltaHeader {
  const max = opts.maxElements
  if (!Number.isInteger(max) || max < 0) throw new TrainingError('ERR_ARGUMENT', `maxElements must be a non-negative integer, got ${max}`)
  if (!(bytes instanceof Uint8Array)) throw codecError('encoded delta must be a Uint8Array')
  if (bytes.length < DELTA_HEADER_BYTES) throw codecError(`truncated header: ${bytes.length} bytes`)
  for (let i = 0; i < 4; i++) if (bytes[i] !== DELTA_MAGIC[i]) throw codecError('bad magic')
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const version = dv.getUint8(4)
  if (version !== DELTA_FORMAT_VERSION) throw codecError(`unsupported version ${version}`)
  const id = dv.getUint8(5)
  const kind = KIND_BY_ID.get(id)
  if (kind === undefined) throw codecError(`unknown codec id ${id}`)
  if (dv.getUint16(6, true) !== 0) throw codecError('reserved header bits set')
  const count = dv.getUint32(8, true)
  if (count > max) throw codecError(`element count ${count} exceeds the cap ${max}`)
  const param = dv.getUint32(12, true)
  if ((kind === 'fp32' || kind === 'fp16') && param !== 0) throw codecError(`${kind} takes no parameter, got ${param}`)
  if (kind === 'int8' && (param < 1 || param > MAX_INT8_BLOCK)) throw codecError(`bad int8 block size ${param}`)
  if (kind === 'topk' && param > count) throw codecError(`top-k keeps ${param} of ${count} elements`)
  const h: DeltaHeader = { version, kind, count, param }
  const expected = DELTA_HEADER_BYTES + bodyBytes(h)
  if (bytes.length !== expected) throw codecError(`${kind} delta of ${count} elements must be ${expected} bytes, got ${bytes.length}`)
  return h
}

/** Decode bytes produced by encodeDelta (any codec) back to a dense float32 delta. Throws ERR_CODEC on any
 *  malformed input; never allocates more than `maxElements` elements. */
export function decodeDelta (bytes: Uint8Array, opts: DecodeOptions): Float32Array {
  const h = readDeltaHeader(bytes, opts)
  const off = DELTA_HEADER_BYTES
  const out = new Float32Array(h.count)
  switch (h.kind) {
    case 'fp32':
      return get32(bytes, off, out)
    case 'fp16': {
      const half = new Uint16Array(h.count)
      if (LE) new Uint8Array(half.buffer).set(bytes.subarray(off, off + h.count * 2))
      else {
        const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
        for (let i = 0; i < h.count; i++) half[i] = dv.getUint16(off + i * 2, true)
      }
      decodeHalfArray(half, out)
      return out
    }
    case 'int8': {
      const nb = blockCount(h.count, h.param)
      const scales = get32(bytes, off, new Float32Array(nb))
      const q = new Int8Array(bytes.buffer, bytes.byteOffset + off + nb * 4, h.count)
      for (let b = 0; b < nb; b++) {
        const s = scales[b]
        if (!(s >= 0) || Math.fround(127 * s) === Infinity) throw codecError(`int8 block ${b} has scale ${s}`)
        const end = Math.min(h.count, (b + 1) * h.param)
        for (let i = b * h.param; i < end; i++) {
          if (q[i] === -128) throw codecError(`int8 value -128 at ${i} (symmetric range is [-127, 127])`)
          out[i] = q[i] * s
        }
      }
      return out
    }
    case 'topk': {
      const k = h.param
      const idx = get32(bytes, off, new Uint32Array(k))
      const vals = get32(bytes, off + k * 4, new Float32Array(k))
      let prev = -1
      for (let i = 0; i < k; i++) {
        const j = idx[i]
        if (j <= prev || j >= h.count) throw codecError(`top-k index ${j} at ${i} is out of order or range`)
        out[j] = vals[i]
        prev = j
      }
      return out
    }
  }
}
