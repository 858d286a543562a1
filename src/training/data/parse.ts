/**
 * Parsers for user datasets: CSV (numeric features plus one integer label column) and JSON Lines
 * (`{"features": [...], "label": n}` or `{"x": [...], "y": n}` per line). Errors name the 1-based line of the file.
 */
import { TrainingError } from '../errors.js'
import type { Dataset } from './dataset.js'

/** A dataset file failed to parse; `line` is the 1-based line number in the input (0 when not tied to a line). */
export class DatasetParseError extends TrainingError {
  readonly line: number
  constructor (line: number, message: string) {
    super('ERR_DATASET_PARSE', line > 0 ? `line ${line}: ${message}` : message)
    this.line = line
  }
}

/** Options shared by both parsers. */
export interface ParseOptions {
  /** Dataset name (default `user`). */
  name?: string
  /** Number of classes; default max label + 1. Labels at or above it are errors. */
  classes?: number
  /** Per-row image shape, e.g. `[28, 28, 1]`; must multiply to the feature count. */
  shape?: number[]
}

/** CSV options. */
export interface CsvOptions extends ParseOptions {
  /** Which column holds the label: `last` (default), `first` or a 0-based index. */
  labelColumn?: 'last' | 'first' | number
  /**
   * Whether the first non-empty line is a header. `auto` (default) treats it as one when its label field is not a
   * number or most of its fields are not numbers.
   */
  header?: boolean | 'auto'
  /** Field separator (default `,`). */
  delimiter?: string
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/
const MAX_LABEL = 0x7fffffff
const MAX_F32 = 3.4028234663852886e38

function checkRange (v: number, line: number, where: string): number {
  if (Math.abs(v) > MAX_F32) throw new DatasetParseError(line, `${where}: ${v} is outside the float32 range`)
  return v
}

function parseNumber (field: string): number | undefined {
  let s = field.trim()
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) s = s.slice(1, -1).trim()
  if (!NUMBER.test(s)) return undefined
  const v = Number(s)
  return Number.isFinite(v) ? v : undefined
}

function checkLabel (v: unknown, line: number, classes: number | undefined): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new DatasetParseError(line, `label ${JSON.stringify(v)} is not a number`)
  if (!Number.isInteger(v)) throw new DatasetParseError(line, `label ${v} is not an integer`)
  if (v < 0) throw new DatasetParseError(line, `label ${v} is negative`)
  if (v > MAX_LABEL) throw new DatasetParseError(line, `label ${v} is too large`)
  if (classes != null && v >= classes) throw new DatasetParseError(line, `label ${v} is not below classes = ${classes}`)
  return v
}

/** Grows row storage without knowing the row count up front. */
class RowSink {
  private x: Float32Array
  private y: Int32Array
  n = 0
  constructor (readonly width: number, capacity: number) {
    this.x = new Float32Array(Math.max(1, capacity) * width)
    this.y = new Int32Array(Math.max(1, capacity))
  }

  row (): Float32Array {
    if (this.n === this.y.length) {
      const x = new Float32Array(this.x.length * 2); x.set(this.x); this.x = x
      const y = new Int32Array(this.y.length * 2); y.set(this.y); this.y = y
    }
    return this.x.subarray(this.n * this.width, (this.n + 1) * this.width)
  }

  commit (label: number): void { this.y[this.n++] = label }

  finish (opts: ParseOptions): Dataset {
    if (this.n === 0) throw new DatasetParseError(0, 'no data rows')
    const y = this.y.slice(0, this.n)
    let max = 0
    for (let i = 0; i < y.length; i++) if (y[i] > max) max = y[i]
    const classes = opts.classes ?? max + 1
    if (opts.shape != null && opts.shape.reduce((a, b) => a * b, 1) !== this.width) {
      throw new DatasetParseError(0, `shape ${opts.shape.join('x')} does not hold ${this.width} features`)
    }
    return {
      name: opts.name ?? 'user',
      x: this.x.slice(0, this.n * this.width),
      y,
      features: this.width,
      classes,
      ...(opts.shape != null ? { shape: [...opts.shape] } : {})
    }
  }
}

function checkClasses (classes: number | undefined): void {
  if (classes != null && (!Number.isInteger(classes) || classes < 1)) throw new DatasetParseError(0, `classes must be a positive integer, got ${classes}`)
}

/** Parse CSV text into a Dataset: every field numeric, one integer label column, the same width on every row. */
export function parseCsv (text: string, opts: CsvOptions = {}): Dataset {
  checkClasses(opts.classes)
  const delimiter = opts.delimiter ?? ','
  const lines = text.split('\n')
  let first = 0
  while (first < lines.length && lines[first].trim() === '') first++
  if (first === lines.length) throw new DatasetParseError(0, 'no data rows')

  const firstFields = lines[first].replace(/\r$/, '').split(delimiter)
  const width = firstFields.length
  if (width < 2) throw new DatasetParseError(first + 1, `need at least one feature and a label, found ${width} column${width === 1 ? '' : 's'}`)
  const lc = opts.labelColumn ?? 'last'
  const labelIdx = lc === 'last' ? width - 1 : lc === 'first' ? 0 : lc
  if (!Number.isInteger(labelIdx) || labelIdx < 0 || labelIdx >= width) {
    throw new DatasetParseError(first + 1, `label column ${String(lc)} is outside the ${width} columns`)
  }
  let header = opts.header ?? 'auto'
  if (header === 'auto') {
    const nonNumeric = firstFields.filter(f => parseNumber(f) === undefined).length
    header = parseNumber(firstFields[labelIdx]) === undefined || nonNumeric * 2 > width
  }

  const sink = new RowSink(width - 1, lines.length)
  for (let i = header ? first + 1 : first; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, '')
    if (raw.trim() === '') continue
    const line = i + 1
    const fields = raw.split(delimiter)
    if (fields.length !== width) throw new DatasetParseError(line, `expected ${width} columns, got ${fields.length}`)
    const row = sink.row()
    let k = 0
    for (let c = 0; c < width; c++) {
      if (c === labelIdx) continue
      const v = parseNumber(fields[c])
      if (v === undefined) throw new DatasetParseError(line, `column ${c + 1}: ${JSON.stringify(fields[c].trim())} is not a number`)
      row[k++] = checkRange(v, line, `column ${c + 1}`)
    }
    const label = parseNumber(fields[labelIdx])
    if (label === undefined) throw new DatasetParseError(line, `label ${JSON.stringify(fields[labelIdx].trim())} is not a number`)
    sink.commit(checkLabel(label, line, opts.classes))
  }
  return sink.finish(opts)
}

/** Parse JSON Lines: one object per non-empty line, `{ features, label }` or `{ x, y }`. */
export function parseJsonLines (text: string, opts: ParseOptions = {}): Dataset {
  checkClasses(opts.classes)
  const lines = text.split('\n')
  let sink: RowSink | undefined
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim()
    if (raw === '') continue
    const line = i + 1
    let rec: unknown
    try {
      rec = JSON.parse(raw)
    } catch (err) {
      throw new DatasetParseError(line, `invalid JSON (${(err as Error).message})`)
    }
    if (rec == null || typeof rec !== 'object' || Array.isArray(rec)) throw new DatasetParseError(line, 'expected a JSON object')
    const r = rec as Record<string, unknown>
    const hasNamed = 'features' in r || 'label' in r
    const hasShort = 'x' in r || 'y' in r
    if (hasNamed && hasShort) throw new DatasetParseError(line, 'use either {features, label} or {x, y}, not both')
    const features = hasNamed ? r.features : r.x
    const label = hasNamed ? r.label : r.y
    const fName = hasNamed ? 'features' : 'x'
    if (!Array.isArray(features)) throw new DatasetParseError(line, `"${fName}" must be an array of numbers`)
    if (label === undefined) throw new DatasetParseError(line, `missing "${hasNamed ? 'label' : 'y'}"`)
    if (sink == null) {
      if (features.length === 0) throw new DatasetParseError(line, `"${fName}" is empty`)
      sink = new RowSink(features.length, lines.length)
    }
    if (features.length !== sink.width) throw new DatasetParseError(line, `expected ${sink.width} features, got ${features.length}`)
    const row = sink.row()
    for (let c = 0; c < features.length; c++) {
      const v = features[c]
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new DatasetParseError(line, `${fName}[${c}] = ${JSON.stringify(v)} is not a finite number`)
      row[c] = checkRange(v, line, `${fName}[${c}]`)
    }
    sink.commit(checkLabel(label, line, opts.classes))
  }
  if (sink == null) throw new DatasetParseError(0, 'no data rows')
  return sink.finish(opts)
}
