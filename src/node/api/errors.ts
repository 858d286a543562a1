/**
 * The admin API's one error mapping: a thrown error's `kind` decides the HTTP status, a few codes refine it (401,
 * 413, 415, ...), and every error body is `{ error: { code, message } }`. Routes never map errors themselves: they
 * let a subsystem's MeshError through, or throw an ApiError for what only HTTP knows (a bad header, a missing body).
 *
 * A 5xx means our bug, and only that (`internal`): a peer that does not deliver, a full disk quota or a busy node are
 * told to the client as 4xx statuses whose code says what happened.
 */
import type { FastifyError } from 'fastify'
import { defineErrors, MeshError, type ErrorKind } from '../../common/errors.js'

/** Codes raised by the HTTP layer itself. */
export const API_ERRORS = {
  ERR_VALIDATION: 'invalid',
  ERR_BAD_REQUEST: 'invalid',
  ERR_TOO_LARGE: 'invalid',
  ERR_URI_TOO_LONG: 'invalid',
  ERR_REQUEST_TIMEOUT: 'invalid',
  ERR_HEADERS_TOO_LARGE: 'invalid',
  ERR_UNSUPPORTED_MEDIA_TYPE: 'invalid',
  ERR_METHOD: 'invalid',
  ERR_PEER_ID: 'invalid',
  ERR_DATASET_EMPTY: 'invalid',
  ERR_UNAUTHORIZED: 'forbidden',
  ERR_HOST: 'forbidden',
  ERR_NOT_FOUND: 'not-found',
  ERR_NOT_READY: 'not-found',
  /** A bounded resource of the API (event streams, heavy requests) is full: retry later. */
  ERR_BUSY: 'unavailable'
} as const

/** The union of the HTTP layer's own codes. */
export type ApiErrorCode = keyof typeof API_ERRORS

/** An error only the HTTP layer can name (auth, headers, bodies, unknown routes). */
export const ApiError = defineErrors('ApiError', API_ERRORS)
/** An instance of ApiError. */
export type ApiError = InstanceType<typeof ApiError>

/**
 * The status of each kind. Only `internal` is a 5xx: `unavailable` (a dependency did not answer, or the node is busy:
 * retry later) is 409, the state of the node does not allow it now, with a code that says why.
 */
const STATUS_BY_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  'not-found': 404,
  conflict: 409,
  unavailable: 409,
  forbidden: 403,
  internal: 500
}

/** Codes whose status is more precise than their kind's (never a 5xx: those are our bugs only). */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  ERR_UNAUTHORIZED: 401,
  ERR_METHOD: 405,
  ERR_TOO_LARGE: 413,
  ERR_BLOCK_TOO_LARGE: 413,
  /** The storage quota refuses the bytes: the request is too large for this node now. */
  ERR_QUOTA: 413,
  ERR_URI_TOO_LONG: 414,
  ERR_REQUEST_TIMEOUT: 408,
  ERR_HEADERS_TOO_LARGE: 431,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  /** No peer delivered the artifact's blocks within the fetch timeout: as for an unknown CID. */
  ERR_TIMEOUT: 404,
  /** Peers could not deliver the artifact. */
  ERR_FETCH: 404,
  /** The network holds a DAG for this CID that lies about its size: the content cannot be processed. */
  ERR_CORRUPT: 422,
  ERR_BUSY: 429
}

/** Fastify's own client errors, by status, as our codes. */
const FASTIFY_CODES: Readonly<Record<number, ApiErrorCode>> = {
  400: 'ERR_BAD_REQUEST', 401: 'ERR_UNAUTHORIZED', 404: 'ERR_NOT_FOUND', 405: 'ERR_METHOD', 413: 'ERR_TOO_LARGE', 414: 'ERR_URI_TOO_LONG', 415: 'ERR_UNSUPPORTED_MEDIA_TYPE'
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
