/**
 * The operator's named datasets on disk: `<dataDir>/datasets/<name>.mnds`, one compact binary file each, written
 * atomically (temp file, fsync, rename) so a crash never leaves half a dataset under a valid name.
 *
 * File layout (all little-endian):
 *   0  "MNDS"            magic
 *   4  u32 version       1
 *   8  u32 metaLength    bytes of the UTF-8 JSON that follows
 *  12  meta JSON         { rows, features, classes, shape?, labels?, standardization?, sha256 }  (sha256 of the x and
 *                       y bytes; `labels` names the classes, `standardization` is the scaling applied at import)
 *      zero padding to a multiple of 4
 *      x: rows * features float32, then y: rows int32
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises'
import { endianness } from 'node:os'
import path from 'node:path'
import { TrainingError } from '../errors.js'
import { DATASET_NAME } from '../protocol/requests.js'
import { isBuiltin } from './builtin.js'
import { datasetExtras, validateDataset, type Dataset, type Standardization } from './dataset.js'

export { DATASET_NAME }

const MAGIC = 'MNDS'
const VERSION = 1
const EXT = '.mnds'
/** Class names and per-feature statistics ride in the header: room for 4096 names or 100k-feature statistics. */
const MAX_META = 8 * 1024 * 1024
const LE = endianness() === 'LE'

/** What `list` reports for a stored dataset (read from its header only). */
export interface DatasetInfo {
  name: string
  rows: number
  features: number
  classes: number
  shape?: number[]
  labels?: string[]
  standardized?: boolean
  bytes: number
}

interface Meta {
  rows: number
  features: number
  classes: number
  shape?: number[]
  labels?: string[]
  standardization?: Standardization
  sha256: string
}

/** Check a dataset name; returns it, or throws `ERR_DATASET_NAME`. Built-in names are reserved. */
export function validateDatasetName (name: string): string {
  if (typeof name !== 'string' || !DATASET_NAME.test(name)) {
    throw new TrainingError('ERR_DATASET_NAME', `invalid dataset name ${JSON.stringify(name)}: use ${DATASET_NAME.source}`)
  }
  if (isBuiltin(name)) throw new TrainingError('ERR_DATASET_NAME', `dataset name ${name} is reserved for the built-in dataset`)
  return name
}

function leBytes (v: Float32Array | Int32Array): Uint8Array {
  if (LE) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
  const out = new Uint8Array(v.byteLength)
  const dv = new DataView(out.buffer)
  for (let i = 0; i < v.length; i++) {
    if (v instanceof Float32Array) dv.setFloat32(i * 4, v[i], true)
    else dv.setInt32(i * 4, v[i], true)
  }
  return out
}

function fromLe<T extends Float32Array | Int32Array> (bytes: Uint8Array, Ctor: new (n: number) => T): T {
  const n = bytes.byteLength / 4
  const out = new Ctor(n)
  if (LE) {
    new Uint8Array(out.buffer).set(bytes)
    return out
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (let i = 0; i < n; i++) out[i] = out instanceof Float32Array ? dv.getFloat32(i * 4, true) : dv.getInt32(i * 4, true)
  return out
}

/** Serialize a dataset to the `.mnds` layout (the name is not stored: the file name is the name). */
export function encodeDataset (ds: Dataset): Uint8Array {
  validateDataset(ds)
  const xb = leBytes(ds.x)
  const yb = leBytes(ds.y)
  const sha256 = createHash('sha256').update(xb).update(yb).digest('hex')
  const meta: Meta = { rows: ds.y.length, features: ds.features, classes: ds.classes, ...datasetExtras(ds), sha256 }
  const metaBytes = new TextEncoder().encode(JSON.stringify(meta))
  const head = 12 + metaBytes.length
  const pad = (4 - (head % 4)) % 4
  const out = new Uint8Array(head + pad + xb.length + yb.length)
  out.set(new TextEncoder().encode(MAGIC), 0)
  const dv = new DataView(out.buffer)
  dv.setUint32(4, VERSION, true)
  dv.setUint32(8, metaBytes.length, true)
  out.set(metaBytes, 12)
  out.set(xb, head + pad)
  out.set(yb, head + pad + xb.length)
  return out
}

function corrupt (what: string, why: string): TrainingError {
  return new TrainingError('ERR_DATASET_CORRUPT', `${what}: ${why}`)
}

function readHeader (bytes: Uint8Array, what: string): { meta: Meta, dataOffset: number } {
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 4)) !== MAGIC) throw corrupt(what, 'not a meshnode dataset file')
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const version = dv.getUint32(4, true)
  if (version !== VERSION) throw corrupt(what, `unsupported version ${version}`)
  const metaLength = dv.getUint32(8, true)
  if (metaLength > MAX_META || 12 + metaLength > bytes.length) throw corrupt(what, 'truncated header')
  let meta: Meta
  try {
    meta = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + metaLength))) as Meta
  } catch {
    throw corrupt(what, 'unreadable header')
  }
  const ok = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0
  if (!ok(meta.rows) || !ok(meta.features) || !ok(meta.classes) || typeof meta.sha256 !== 'string') throw corrupt(what, 'invalid header fields')
  const head = 12 + metaLength
  return { meta, dataOffset: head + (4 - (head % 4)) % 4 }
}

/** Parse a `.mnds` file, checking its length and checksum; `name` becomes the dataset's name. */
export function decodeDataset (bytes: Uint8Array, name: string): Dataset {
  const { meta, dataOffset } = readHeader(bytes, name)
  const xLen = meta.rows * meta.features * 4
  const yLen = meta.rows * 4
  if (bytes.length !== dataOffset + xLen + yLen) throw corrupt(name, `expected ${dataOffset + xLen + yLen} bytes, found ${bytes.length}`)
  const xb = bytes.subarray(dataOffset, dataOffset + xLen)
  const yb = bytes.subarray(dataOffset + xLen)
  const sha = createHash('sha256').update(xb).update(yb).digest('hex')
  if (sha !== meta.sha256) throw corrupt(name, 'checksum mismatch')
  const ds: Dataset = {
    name,
    x: fromLe(xb, Float32Array),
    y: fromLe(yb, Int32Array),
    features: meta.features,
    classes: meta.classes,
    ...(Array.isArray(meta.shape) ? { shape: meta.shape } : {}),
    ...(Array.isArray(meta.labels) ? { labels: meta.labels } : {}),
    ...(meta.standardization != null ? { standardization: meta.standardization } : {})
  }
  try {
    return validateDataset(ds)
  } catch (err) {
    throw corrupt(name, (err as Error).message)
  }
}

function infoOf (m: Omit<Meta, 'sha256'>): Omit<DatasetInfo, 'name' | 'bytes'> {
  return {
    rows: m.rows,
    features: m.features,
    classes: m.classes,
    ...(m.shape != null ? { shape: m.shape } : {}),
    ...(m.labels != null ? { labels: m.labels } : {}),
    ...(m.standardization != null ? { standardized: true } : {})
  }
}

/** Named datasets under `<dataDir>/datasets`. */
export class DatasetStore {
  /** The folder holding the `.mnds` files. */
  readonly dir: string

  constructor (dataDir: string) {
    this.dir = path.join(dataDir, 'datasets')
  }

  /** The file a name maps to (the name is validated first). */
  pathOf (name: string): string {
    return path.join(this.dir, validateDatasetName(name) + EXT)
  }

  /** Save (or replace) a dataset under `name`, atomically. */
  async save (name: string, ds: Dataset, opts: { signal?: AbortSignal } = {}): Promise<DatasetInfo> {
    const file = this.pathOf(name)
    const bytes = encodeDataset(ds)
    opts.signal?.throwIfAborted()
    await mkdir(this.dir, { recursive: true })
    const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
    try {
      const fh = await open(tmp, 'wx', 0o600)
      try {
        await fh.writeFile(bytes, { signal: opts.signal })
        await fh.sync()
      } finally {
        await fh.close()
      }
      opts.signal?.throwIfAborted()
      await rename(tmp, file)
    } catch (err) {
      await unlink(tmp).catch(() => {})
      throw err
    }
    return { name, ...infoOf({ rows: ds.y.length, features: ds.features, classes: ds.classes, ...datasetExtras(ds) }), bytes: bytes.length }
  }

  /** Load a dataset; `ERR_DATASET_NOT_FOUND` when absent, `ERR_DATASET_CORRUPT` when the file is damaged. */
  async load (name: string, opts: { signal?: AbortSignal } = {}): Promise<Dataset> {
    const file = this.pathOf(name)
    let bytes: Uint8Array
    try {
      bytes = await readFile(file, { signal: opts.signal })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new TrainingError('ERR_DATASET_NOT_FOUND', `no dataset named ${name}`)
      throw err
    }
    return decodeDataset(bytes, name)
  }

  /** True when a dataset of that name is stored. */
  async has (name: string): Promise<boolean> {
    try {
      const fh = await open(this.pathOf(name), 'r')
      await fh.close()
      return true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
      throw err
    }
  }

  /** Stored datasets, sorted by name, described from their headers (unreadable files are skipped). */
  async list (): Promise<DatasetInfo[]> {
    let entries: string[]
    try {
      entries = await readdir(this.dir)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
    const out: DatasetInfo[] = []
    for (const entry of entries.sort()) {
      if (!entry.endsWith(EXT)) continue
      const name = entry.slice(0, -EXT.length)
      if (!DATASET_NAME.test(name)) continue
      try {
        const fh = await open(path.join(this.dir, entry), 'r')
        try {
          const { size } = await fh.stat()
          const start = new Uint8Array(Math.min(size, 12))
          await fh.read(start, 0, start.length, 0)
          const metaLength = start.length === 12 ? new DataView(start.buffer).getUint32(8, true) : 0
          const head = new Uint8Array(Math.min(size, 12 + Math.min(metaLength, MAX_META)))
          await fh.read(head, 0, head.length, 0)
          const { meta } = readHeader(head, name)
          out.push({ name, ...infoOf(meta), bytes: size })
        } finally {
          await fh.close()
        }
      } catch {
        // a damaged or foreign file is not a dataset: leave it out of the listing
      }
    }
    return out
  }

  /** Remove a dataset; returns whether one was there. */
  async delete (name: string): Promise<boolean> {
    try {
      await unlink(this.pathOf(name))
      return true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
      throw err
    }
  }
}
