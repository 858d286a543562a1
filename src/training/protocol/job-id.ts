/**
 * Job identity: a job's id is derived from its content, so any node can check that an announcement's id matches
 * the spec it carries and two different jobs never share an id.
 */
import { createHash } from 'node:crypto'
import { encode } from 'cborg'
import type { JobSpec } from './job-schema.js'

/** A spec before its id is known. */
export type JobSpecInput = Omit<JobSpec, 'id'>

/** A deep copy without `undefined` values (absent and undefined optional fields must hash the same). */
export function stripUndefined<T> (v: T): T {
  if (Array.isArray(v)) return v.map(x => stripUndefined(x)) as T
  if (v != null && typeof v === 'object' && !(v instanceof Uint8Array)) {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = stripUndefined(x)
    return out as T
  }
  return v
}

/**
 * The canonical CBOR of a spec without its id: cborg sorts map keys (RFC 7049 canonical order) and writes every number
 * in its shortest lossless form, so equal specs give equal bytes on every node.
 */
export function canonicalJobBytes (spec: JobSpecInput | JobSpec): Uint8Array {
  const rest: Partial<JobSpec> = { ...spec }
  delete rest.id
  return encode(stripUndefined(rest))
}

/** The job id: lowercase hex SHA-256 of `canonicalJobBytes(spec)`. */
export function jobIdOf (spec: JobSpecInput | JobSpec): string {
  return createHash('sha256').update(canonicalJobBytes(spec)).digest('hex')
}

/** Complete a spec with its id. */
export function createJobSpec (spec: JobSpecInput): JobSpec {
  const clean = stripUndefined(spec)
  return { ...clean, id: jobIdOf(clean) }
}
