/** Small helpers of the artifact store: CID parsing, argument checks, error unwrapping, metric labels. */
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { CID } from 'multiformats/cid'
import { StorageError } from './errors.js'
import { ArtifactAddQuerySchema, type ArtifactAddQuery } from './api-schemas.js'

/** Parse a CID from user input; StorageError ERR_INVALID_CID when it does not parse. Returns the CIDv1. */
export function parseCid (s: string): CID {
  try {
    return CID.parse(s).toV1()
  } catch {
    throw new StorageError('ERR_INVALID_CID', `not a valid CID: ${JSON.stringify(String(s).slice(0, 100))}`)
  }
}

const addFields = TypeCompiler.Compile(ArtifactAddQuerySchema)

/**
 * Check an add's metadata against its schema (the announcement record's bounds) before any byte is written, so that
 * an add never stores blocks for metadata it could not sign. StorageError ERR_INVALID_ARGUMENT naming the field.
 */
export function checkAddFields (fields: ArtifactAddQuery): void {
  const clean = stripUndefined(fields)
  if (addFields.Check(clean)) return
  const first = addFields.Errors(clean).First()
  const field = first?.path.slice(1) ?? ''
  throw new StorageError('ERR_INVALID_ARGUMENT', `artifact ${field !== '' ? field : 'metadata'} is invalid: ${first?.message ?? 'schema mismatch'}`)
}

/**
 * Refuse, before any write, an add whose declared size (a file's, a Content-Length) exceeds the artifact size cap
 * (ERR_TOO_LARGE) or the free quota (ERR_QUOTA).
 */
export function checkRoom (size: number, maxArtifactBytes: number, bs: { freeBytes: number, quotaBytes: number }): void {
  if (size > maxArtifactBytes) throw new StorageError('ERR_TOO_LARGE', `artifact of ${size} bytes exceeds the maximum artifact size of ${maxArtifactBytes} bytes (storage.maxArtifactBytes)`)
  if (size > bs.freeBytes) throw new StorageError('ERR_QUOTA', `storage quota exceeded: the artifact needs ${size} bytes but only ${bs.freeBytes} of the ${bs.quotaBytes}-byte quota are free (unpin artifacts and run gc, or raise storage.quotaBytes)`)
}

/** A copy without undefined fields (CBOR would encode them; the schema wants them absent). */
export function stripUndefined<T extends object> (o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}

/** The first StorageError in an error's cause chain (importers and Helia wrap errors from the blockstore). */
export function storageErrorIn (err: unknown): StorageError | undefined {
  for (let e = err, i = 0; e != null && i < 8; i++) {
    if (e instanceof StorageError) return e
    const agg = (e as { errors?: unknown[] }).errors
    if (Array.isArray(agg)) {
      for (const x of agg) {
        const s = storageErrorIn(x)
        if (s != null) return s
      }
    }
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/** A bounded metric label for a failed read or pin. */
export function fetchResult (err: unknown): string {
  switch (storageErrorIn(err)?.code) {
    case 'ERR_NOT_FOUND': return 'not_found'
    case 'ERR_TIMEOUT': return 'timeout'
    case 'ERR_TOO_LARGE': return 'too_large'
    case 'ERR_BLOCK_TOO_LARGE': return 'too_large'
    case 'ERR_QUOTA': return 'quota'
    case 'ERR_INVALID_CID': return 'invalid'
    default: return 'error'
  }
}
