/**
 * The admin API's one error mapping: a thrown error's `kind` decides the HTTP status, a few codes refine it (401,
 * 413, 415, ...), and every error body is `{ error: { code, message } }`. Routes never map errors themselves: they
 * let a subsystem's MeshError through, or throw an ApiError for what only HTTP knows (a bad header, a missing body).
 */
import type { FastifyError } from 'fastify'
import { defineErrors, MeshError, type ErrorKind } from '../../common/errors.js'

/** Codes raised by the HTTP layer itself. */
export const API_ERRORS = {
  ERR_VALIDATION: 'invalid',
  ERR_BAD_REQUEST: 'invalid',
  ERR_TOO_LARGE: 'invalid',
  ERR_UNSUPPORTED_MEDIA_TYPE: 'invalid',
  ERR_METHOD: 'invalid',
  ERR_PEER_ID: 'invalid',
  ERR_DATASET_EMPTY: 'invalid',
  ERR_UNAUTHORIZED: 'forbidden',
  ERR_HOST: 'forbidden',
  ERR_NOT_FOUND: 'not-found',
  ERR_NOT_READY: 'not-found'
} as const

/** The union of the HTTP layer's own codes. */
export type ApiErrorCode = keyof typeof API_ERRORS

/** An error only the HTTP layer can name (auth, headers, bodies, unknown routes). */
export const ApiError = defineErrors('ApiError', API_ERRORS)
/** An instance of ApiError. */
export type ApiError = InstanceType<typeof ApiError>

/** The status of each kind. */
const STATUS_BY_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  'not-found': 404,
  conflict: 409,
  unavailable: 503,
  forbidden: 403,
  internal: 500
}

/** Codes whose status is more precise than their kind's. */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  ERR_UNAUTHORIZED: 401,
  ERR_METHOD: 405,
  ERR_TOO_LARGE: 413,
  ERR_BLOCK_TOO_LARGE: 413,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_QUOTA: 507,
  ERR_TIMEOUT: 504,
  ERR_FETCH: 502,
  ERR_CORRUPT: 502
}

/** Fastify's own client errors, by status, as our codes. */
const FASTIFY_CODES: Readonly<Record<number, ApiErrorCode>> = {
  400: 'ERR_BAD_REQUEST', 401: 'ERR_UNAUTHORIZED', 404: 'ERR_NOT_FOUND', 405: 'ERR_METHOD', 413: 'ERR_TOO_LARGE', 415: 'ERR_UNSUPPORTED_MEDIA_TYPE'
}

/** What the client is told. `internal` is true for our bugs: logged once by the caller, never detailed to the client. */
export interface RenderedError { status: number, code: string, message: string, internal: boolean }

/** Map any thrown value to a status and our error body. */
export function renderError (err: unknown): RenderedError {
  if (err instanceof MeshError && err.kind !== 'internal') {
    return { status: STATUS_BY_CODE[err.code] ?? STATUS_BY_KIND[err.kind], code: err.code, message: err.message, internal: false }
  }
  const fe = err as Partial<FastifyError> | undefined
  if (fe?.validation != null) return { status: 400, code: 'ERR_VALIDATION', message: fe.message ?? 'invalid request', internal: false }
  const status = fe?.statusCode
  if (!(err instanceof MeshError) && status != null && status >= 400 && status < 500) {
    return { status, code: FASTIFY_CODES[status] ?? 'ERR_BAD_REQUEST', message: fe?.message ?? 'bad request', internal: false }
  }
  return { status: 500, code: 'ERR_INTERNAL', message: 'internal error', internal: true }
}
