/** Small helpers of the artifact store: CID parsing, argument checks, error unwrapping, metric labels. */
import { CID } from 'multiformats/cid'
import { StorageError } from './errors.js'
import { ARTIFACT_KINDS } from '../protocols/validate/artifacts.js'

const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$/

/** Parse a CID from user input; StorageError ERR_INVALID_CID when it does not parse. Returns the CIDv1. */
export function parseCid (s: string): CID {
  try {
    return CID.parse(s).toV1()
  } catch {
    throw new StorageError('ERR_INVALID_CID', `not a valid CID: ${JSON.stringify(String(s).slice(0, 100))}`)
  }
}

function invalid (message: string): StorageError {
  return new StorageError('ERR_INVALID_ARGUMENT', message)
}

/** Check add arguments against the announcement schema's limits, before any byte is written. */
export function checkArtifactFields (name: string, kind: string, mediaType: string, job?: string, round?: number): void {
  if (typeof name !== 'string' || name.length < 1 || name.length > 256) throw invalid('name must be 1-256 characters')
  if (!(ARTIFACT_KINDS as readonly string[]).includes(kind)) throw invalid(`kind must be one of ${ARTIFACT_KINDS.join(', ')}`)
  if (mediaType.length > 128 || !MEDIA_TYPE.test(mediaType)) throw invalid('mediaType must look like type/subtype')
  if (job != null && (job.length < 1 || job.length > 128)) throw invalid('job must be 1-128 characters')
  if (round != null && (!Number.isSafeInteger(round) || round < 0 || round > 1_000_000_000)) throw invalid('round must be a non-negative integer')
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
