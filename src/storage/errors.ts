/** The storage subsystem's error codes and their kinds: one table, one class. */
import { defineErrors } from '../common/errors.js'

/**
 * Every code StorageError carries, with its kind (the admin API derives the HTTP status from the kind, refined by a
 * few codes: ERR_TOO_LARGE and ERR_QUOTA 413, ERR_TIMEOUT and ERR_FETCH 404, ERR_CORRUPT 422; never a 5xx, which
 * the API keeps for its own bugs).
 */
export const STORAGE_ERRORS = {
  /** A CID that does not parse. */
  ERR_INVALID_CID: 'invalid',
  /** Artifact metadata or an argument outside its schema. */
  ERR_INVALID_ARGUMENT: 'invalid',
  /** The CID names a directory, not a file. */
  ERR_NOT_A_FILE: 'invalid',
  /** Over the artifact size cap (storage.maxArtifactBytes, or the caller's). */
  ERR_TOO_LARGE: 'invalid',
  /** A block over the block size cap (ours, or a peer's). */
  ERR_BLOCK_TOO_LARGE: 'invalid',
  /** The blockstore is full: not the request's fault, and no retry helps until space is freed. */
  ERR_QUOTA: 'conflict',
  /** No such artifact here, or no peer provided it in time. */
  ERR_NOT_FOUND: 'not-found',
  /** A transfer stopped making progress. */
  ERR_TIMEOUT: 'unavailable',
  /** Peers could not deliver the artifact. */
  ERR_FETCH: 'unavailable',
  /** A peer served a DAG that lies about its size. */
  ERR_CORRUPT: 'unavailable',
  /** A malformed schema version (a bug, or a damaged state database). */
  ERR_SCHEMA: 'internal',
  /** A state migration is missing or failed. */
  ERR_SCHEMA_MIGRATION: 'internal',
  /** The data dir was written by a newer meshnode. */
  ERR_SCHEMA_NEWER: 'conflict',
  /** The datastore or blockstore cannot be opened (permissions, disk). */
  ERR_STORAGE_OPEN: 'unavailable',
  /** The state database cannot be opened (typically: another node holds its lock). */
  ERR_STATE_OPEN: 'unavailable',
  /** An invalid sublevel name (a bug). */
  ERR_SUBLEVEL: 'internal'
} as const

/** The codes of StorageError. */
export type StorageErrorCode = keyof typeof STORAGE_ERRORS

/** Storage failures: quota, missing or corrupt blocks, schema mismatch. */
export const StorageError = defineErrors('StorageError', STORAGE_ERRORS)
/** An instance of StorageError. */
export type StorageError = InstanceType<typeof StorageError>
