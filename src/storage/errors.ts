/** The storage subsystem's error codes and their kinds: one table, one class. */
import { defineErrors } from '../common/errors.js'

/** Every code StorageError carries, with its kind (the admin API derives the HTTP status from the kind). */
export const STORAGE_ERRORS = {
  ERR_INVALID_CID: 'invalid',
  ERR_INVALID_ARGUMENT: 'invalid',
  ERR_NOT_A_FILE: 'invalid',
  ERR_TOO_LARGE: 'invalid',
  ERR_BLOCK_TOO_LARGE: 'invalid',
  ERR_QUOTA: 'invalid',
  ERR_NOT_FOUND: 'not-found',
  ERR_TIMEOUT: 'unavailable',
  ERR_FETCH: 'unavailable',
  ERR_CORRUPT: 'unavailable',
  ERR_SCHEMA: 'internal',
  ERR_SCHEMA_MIGRATION: 'internal',
  ERR_SCHEMA_NEWER: 'internal',
  ERR_STORAGE_OPEN: 'internal',
  ERR_STATE_OPEN: 'internal',
  ERR_SUBLEVEL: 'internal'
} as const

export type StorageErrorCode = keyof typeof STORAGE_ERRORS

/** Storage failures: quota, missing or corrupt blocks, schema mismatch. */
export const StorageError = defineErrors('StorageError', STORAGE_ERRORS)
export type StorageError = InstanceType<typeof StorageError>
