/** The training subsystem's error codes and their kinds: one table, one class. */
import { defineErrors } from '../common/errors.js'

/** Every code TrainingError carries, with its kind (the admin API derives the HTTP status from the kind). */
export const TRAINING_ERRORS = {
  ERR_ARGUMENT: 'invalid',
  ERR_BOUNDS: 'invalid',
  ERR_MODEL_SPEC: 'invalid',
  ERR_SHAPE: 'invalid',
  ERR_NONFINITE: 'invalid',
  ERR_RANGE: 'invalid',
  ERR_CODEC: 'invalid',
  ERR_AGGREGATION: 'invalid',
  ERR_DELTA: 'invalid',
  ERR_JOB: 'invalid',
  ERR_JOB_EXISTS: 'invalid',
  ERR_JOB_BUSY: 'invalid',
  ERR_DATASET: 'invalid',
  ERR_DATASET_NAME: 'invalid',
  ERR_DATASET_PARSE: 'invalid',
  ERR_DATASET_EMPTY: 'invalid',
  ERR_DATASET_CORRUPT: 'invalid',
  ERR_DATASET_NOT_FOUND: 'invalid',
  ERR_NOT_FOUND: 'not-found',
  ERR_NOT_CREATOR: 'forbidden',
  ERR_JOB_ACTIVE: 'conflict',
  ERR_FETCH: 'unavailable',
  ERR_ABORTED: 'unavailable',
  /** Too many heavy requests (large model builds) at once: retry shortly (HTTP 429). */
  ERR_BUSY: 'unavailable',
  ERR_BACKEND: 'internal',
  ERR_SNAPSHOT: 'internal',
  ERR_TRAIN: 'internal',
  ERR_DIVERGED: 'internal'
} as const

export type TrainingErrorCode = keyof typeof TRAINING_ERRORS

/** Training failures: bad delta, shape mismatch, unknown dataset, a job that does not exist. */
export const TrainingError = defineErrors('TrainingError', TRAINING_ERRORS)
export type TrainingError = InstanceType<typeof TrainingError>
