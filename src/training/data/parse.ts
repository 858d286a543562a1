/**
 * Parsers for user datasets: CSV (numeric features plus one label column) and JSON Lines
 * (`{"features": [...], "label": n}` or `{"x": [...], "y": n}` per line). Errors name the 1-based line of the file.
 *
 * Labels are class indices (integers in [0, MAX_CLASSES)) or class names: when any label is not a number, every label
 * is a name, and the names, sorted (or in the order `labels` gives), become the classes 0..n-1. The names are kept with
 * the dataset (`labels`), so a prediction reads "setosa", not 0.
 */
import { TrainingError } from '../errors.js'
import { MAX_CLASSES } from '../protocol/limits.js'
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
  /**
   * Class names in class-index order. When given, every label is read as a name and must be one of them (nodes that
   * import their own files this way agree on the class indices even when a file lacks a class).
   */
  labels?: string[]
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
/** Longest class name. */
export const MAX_LABEL_LENGTH = 128
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

function checkLabel (v: number, line: number, classes: number | undefined): number {
  if (!Number.isInteger(v)) throw new DatasetParseError(line, `label ${v} is not an integer`)
  if (v < 0) throw new DatasetParseError(line, `label ${v} is negative`)
  if (v >= MAX_CLASSES) {
    throw new DatasetParseError(line, `label ${v} is not a class index below the cap of ${MAX_CLASSES} classes: number the classes 0..n-1, or use class names`)
  }
  if (classes != null && v >= classes) throw new DatasetParseError(line, `label ${v} is not below classes = ${classes}`)
  return v
}

/** A label as read: a number (a class index) or a name, with its line for errors. */
type RawLabel = number | string

/** Grows row storage without knowing the row count up front. */
class RowSink {
  private x: Float32Array
  private readonly labels: RawLabel[] = []
  private readonly lines: number[] = []
  n = 0
  constructor (readonly width: number, capacity: number) {
    this.x = new Float32Array(Math.max(1, capacity) * width)
  }

  row (): Float32Array {
    if ((this.n + 1) * this.width > this.x.length) {
      const x = new Float32Array(this.x.length * 2); x.set(this.x); this.x = x
    }
    return this.x.subarray(this.n * this.width, (this.n + 1) * this.width)
  }

  commit (label: RawLabel, line: number): void {
    if (typeof label === 'string' && label.length > MAX_LABEL_LENGTH) throw new DatasetParseError(line, `label ${JSON.stringify(label.slice(0, 20))}... is longer than ${MAX_LABEL_LENGTH} characters`)
    this.labels.push(label)
    this.lines.push(line)
    this.n++
  }

  finish (opts: ParseOptions): Dataset {
    if (this.n === 0) throw new DatasetParseError(0, 'no data rows')
    if (opts.shape != null && opts.shape.reduce((a, b) => a * b, 1) !== this.width) {
      throw new DatasetParseError(0, `shape ${opts.shape.join('x')} does not hold ${this.width} features`)
    }
    const named = opts.labels != null || this.labels.some(l => typeof l === 'string')
    const { y, classes, labels } = named ? this.byName(opts) : this.byIndex(opts)
    return {
      name: opts.name ?? 'user',
      x: this.x.slice(0, this.n * this.width),
      y,
      features: this.width,
      classes,
      ...(opts.shape != null ? { shape: [...opts.shape] } : {}),
      ...(labels != null ? { labels } : {})
    }
  }

  private byIndex (opts: ParseOptions): { y: Int32Array, classes: number, labels?: string[] } {
    const y = new Int32Array(this.n)
    let max = 0
    for (let i = 0; i < this.n; i++) {
      y[i] = checkLabel(this.labels[i] as number, this.lines[i], opts.classes)
      if (y[i] > max) max = y[i]
    }
    return { y, classes: opts.classes ?? max + 1 }
  }

  /** Class names to indices: the given order, else sorted (so nodes holding the same classes agree). */
  private byName (opts: ParseOptions): { y: Int32Array, classes: number, labels: string[] } {
    const text = this.labels.map(l => typeof l === 'number' ? String(l) : l)
    const labels = opts.labels != null ? [...opts.labels] : [...new Set(text)].sort()
    if (new Set(labels).size !== labels.length) throw new DatasetParseError(0, 'the class names given are not distinct')
    if (labels.length > MAX_CLASSES) throw new DatasetParseError(0, `${labels.length} distinct labels exceed the cap of ${MAX_CLASSES} classes`)
    const index = new Map(labels.map((l, i) => [l, i]))
    const y = new Int32Array(this.n)
    for (let i = 0; i < this.n; i++) {
      const k = index.get(text[i])
      if (k === undefined) throw new DatasetParseError(this.lines[i], `label ${JSON.stringify(text[i])} is not one of the class names given`)
      y[i] = k
    }
    const classes = opts.classes ?? labels.length
    if (classes < labels.length) throw new DatasetParseError(0, `${labels.length} class names do not fit classes = ${classes}`)
    return { y, classes, labels }
  }
}

function checkClasses (opts: ParseOptions): void {
  const classes = opts.classes
  if (classes != null && (!Number.isInteger(classes) || classes < 1 || classes > MAX_CLASSES)) {
    throw new DatasetParseError(0, `classes must be an integer in [1, ${MAX_CLASSES}], got ${classes}`)
  }
  if (opts.labels?.some(l => l === '' || l.length > MAX_LABEL_LENGTH) === true) throw new DatasetParseError(0, `class names must be 1 to ${MAX_LABEL_LENGTH} characters`)
}

function unquote (field: string): string {
  const s = field.trim()
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1).trim() : s
}

/** Whether the first non-empty line from `from` has a numeric label (then a named label above it names the column). */
function nextLabelIsNumber (lines: string[], from: number, delimiter: string, labelIdx: number): boolean {
  for (let i = from; i < lines.length; i++) {
    if (lines[i].trim() === '') continue
    const f = lines[i].replace(/\r$/, '').split(delimiter)
    return f[labelIdx] !== undefined && parseNumber(f[labelIdx]) !== undefined
  }
  return false
}

/** Parse CSV text into a Dataset: numeric features, one label column (indices or names), the same width on every row. */
export function parseCsv (text: string, opts: CsvOptions = {}): Dataset {
  checkClasses(opts)
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
    // a header names its columns; a data row with a class name as its label still has numeric features
    const nonNumeric = firstFields.filter(f => parseNumber(f) === undefined).length
    const labelNamed = parseNumber(firstFields[labelIdx]) === undefined
    header = nonNumeric * 2 > width || (labelNamed && nonNumeric > 1) || (labelNamed && nextLabelIsNumber(lines, first + 1, delimiter, labelIdx))
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
    const text = unquote(fields[labelIdx])
    if (text === '') throw new DatasetParseError(line, 'the label is empty')
    sink.commit(opts.labels != null ? text : parseNumber(text) ?? text, line)
  }
  return sink.finish(opts)
}

/** Parse JSON Lines: one object per non-empty line, `{ features, label }` or `{ x, y }`. */
export function parseJsonLines (text: string, opts: ParseOptions = {}): Dataset {
  checkClasses(opts)
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
    if (typeof label === 'number' && Number.isFinite(label)) sink.commit(opts.labels != null ? String(label) : label, line)
    else if (typeof label === 'string' && label !== '') sink.commit(label, line)
    else throw new DatasetParseError(line, `label ${JSON.stringify(label)} is neither a class index nor a class name`)
  }
  if (sink == null) throw new DatasetParseError(0, 'no data rows')
  return sink.finish(opts)
}
