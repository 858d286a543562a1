/**
 * Reading `meshnode train` flags against the training protocol's schemas: a flag's bounds and choices are the
 * schema's, so the CLI refuses exactly what the daemon would, and says so naming the flag. Every failure is a
 * TrainingError `ERR_ARGUMENT`. Pure.
 */
import type { TSchema } from '@sinclair/typebox'
import { TrainingError } from '../../training/index.js'

/** A flag the user got wrong. */
export const argError = (message: string, cause?: unknown): TrainingError => new TrainingError('ERR_ARGUMENT', message, { cause })

/** The numeric bounds of a schema node. */
interface Bounds { minimum?: number, maximum?: number, exclusiveMinimum?: number, exclusiveMaximum?: number }

const boundsOf = (schema: TSchema): Bounds => schema as Bounds

/** The inclusive integer range of an integer schema. */
function intRange (schema: TSchema): [number, number] {
  const b = boundsOf(schema)
  return [
    b.minimum ?? (b.exclusiveMinimum !== undefined ? b.exclusiveMinimum + 1 : Number.MIN_SAFE_INTEGER),
    b.maximum ?? (b.exclusiveMaximum !== undefined ? b.exclusiveMaximum - 1 : Number.MAX_SAFE_INTEGER)
  ]
}

/** The bounds of a number schema in words (`> 0 and <= 10`), in the flag's units. */
function numRange (schema: TSchema, scale = 1): string {
  const b = boundsOf(schema)
  const s = (x: number): number => x * scale
  const lo = b.exclusiveMinimum !== undefined ? `> ${s(b.exclusiveMinimum)}` : b.minimum !== undefined ? `>= ${s(b.minimum)}` : ''
  const hi = b.exclusiveMaximum !== undefined ? `< ${s(b.exclusiveMaximum)}` : b.maximum !== undefined ? `<= ${s(b.maximum)}` : ''
  return [lo, hi].filter(x => x !== '').join(' and ')
}

/** What a flag takes, for `--help`: the schema's description and its bounds. */
export function helpOf (schema: TSchema, what?: string): string {
  const range = schema.type === 'integer' ? intRange(schema).join('..') : numRange(schema)
  return [what ?? schema.description, range].filter(x => x !== undefined && x !== '').join(', ')
}

/** An integer flag within the schema's bounds. */
export function intFlag (flag: string, v: string, schema: TSchema): number {
  const [min, max] = intRange(schema)
  const n = /^-?\d+$/.test(v.trim()) ? Number(v) : NaN
  if (!Number.isSafeInteger(n) || n < min || n > max) throw argError(`${flag} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`)
  return n
}

/**
 * A finite number flag within the schema's bounds. `scale` reads the flag in other units (a percentage is the
 * schema's fraction times 100).
 */
export function numFlag (flag: string, v: string, schema: TSchema, scale = 1): number {
  const b = boundsOf(schema)
  const n = v.trim() === '' ? NaN : Number(v) / scale
  const ok = Number.isFinite(n) && (b.exclusiveMinimum === undefined || n > b.exclusiveMinimum) && (b.minimum === undefined || n >= b.minimum) &&
    (b.maximum === undefined || n <= b.maximum) && (b.exclusiveMaximum === undefined || n < b.exclusiveMaximum)
  if (!ok) {
    const range = numRange(schema, scale)
    throw argError(`${flag} must be a number${range === '' ? '' : ' ' + range}, got ${JSON.stringify(v)}`)
  }
  return n
}

/** One of `choices`. */
export function choiceFlag<T extends string> (flag: string, v: string, choices: readonly T[]): T {
  const hit = choices.find(c => c === v)
  if (hit === undefined) throw argError(`${flag} must be one of ${choices.join(', ')}, got ${JSON.stringify(v)}`)
  return hit
}

/** The values of a union of literals (`Type.Union([Type.Literal('a'), ...])`), in order. */
export function literalsOf<T extends string> (union: { anyOf: ReadonlyArray<{ const: T }> }): T[] {
  return union.anyOf.map(s => s.const)
}

/**
 * A comma-separated list of integers (`64,10`) for an array schema: each item within the item schema's bounds, the
 * count within the array's (`count` words that failure, e.g. `must be H,W,C`).
 */
export function intListFlag (flag: string, v: string, schema: TSchema & { items: TSchema, minItems?: number, maxItems?: number }, count: string): number[] {
  const parts = v.split(',').map(s => s.trim())
  if (parts.some(p => p === '')) throw argError(`${flag} must be a comma-separated list of integers, got ${JSON.stringify(v)}`)
  const list = parts.map(p => intFlag(flag, p, schema.items))
  if (list.length < (schema.minItems ?? 0) || list.length > (schema.maxItems ?? Infinity)) throw argError(`${flag} ${count}`)
  return list
}

/** The flag's value read with `read`, or undefined when the flag is absent. */
export function optional<T> (v: string | undefined, read: (v: string) => T): T | undefined {
  return v === undefined ? undefined : read(v)
}

/** `o` without its undefined entries (so an absent flag adds no key to a request). */
export function defined<T extends object> (o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
