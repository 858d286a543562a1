/**
 * The error model: one base `MeshError` with a typed `code` and a `kind`. Each subsystem declares its codes and their
 * kinds in one table in its `errors.ts` (`defineErrors`), so the code union and the kind of every code live in one
 * place. The admin API maps `kind` to an HTTP status once (src/node/api/errors.ts). Match on code or kind, never on
 * the message.
 */

/**
 * What went wrong, from the caller's side: `invalid` (the request or record is wrong), `not-found`, `conflict` (the
 * state does not allow it now), `unavailable` (busy, or a dependency did not answer: retry later), `forbidden`
 * (not allowed for this caller), `internal` (our bug).
 */
export type ErrorKind = 'invalid' | 'not-found' | 'conflict' | 'unavailable' | 'forbidden' | 'internal'

/** Every kind, for exhaustive tables and tests. */
export const ERROR_KINDS: readonly ErrorKind[] = ['invalid', 'not-found', 'conflict', 'unavailable', 'forbidden', 'internal']

/** A MeshError's kind and cause. */
export interface MeshErrorOptions {
  kind?: ErrorKind
  cause?: unknown
}

/** The base of every error this codebase throws on purpose; an error without a kind is `internal`. */
export class MeshError<C extends string = string> extends Error {
  readonly code: C
  readonly kind: ErrorKind
  constructor (code: C, message: string, options: MeshErrorOptions = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined)
    this.name = new.target.name
    this.code = code
    this.kind = options.kind ?? 'internal'
  }
}

/** A subsystem's error table: each code and its kind. */
export type ErrorTable = Readonly<Record<string, ErrorKind>>

/** The error class of a subsystem: `new XError(code, message, { cause })`, its kind looked up in its table. */
export type ErrorClass<C extends string> = new (code: C, message: string, options?: { cause?: unknown }) => MeshError<C>

/**
 * Make a subsystem's error class from its table (`name` becomes the error's name). The code union is the table's
 * keys, so an unknown code is a compile error and each code has exactly one kind.
 */
export function defineErrors<T extends ErrorTable> (name: string, table: T): ErrorClass<Extract<keyof T, string>> {
  type C = Extract<keyof T, string>
  const cls = class extends MeshError<C> {
    constructor (code: C, message: string, options: { cause?: unknown } = {}) {
      super(code, message, { cause: options.cause, kind: table[code] })
      this.name = name
    }
  }
  Object.defineProperty(cls, 'name', { value: name })
  return cls
}

/** The kind of any thrown value: a MeshError's own, anything else `internal`. */
export function kindOf (err: unknown): ErrorKind {
  return err instanceof MeshError ? err.kind : 'internal'
}

/** A configuration value failed validation; `key` names the offending option. */
export class ConfigError extends MeshError<'ERR_CONFIG'> {
  readonly key: string
  constructor (key: string, message: string, options?: { cause?: unknown }) {
    super('ERR_CONFIG', `config ${key}: ${message}`, { ...options, kind: 'invalid' })
    this.key = key
  }
}

/** Raised by gossip validators; `action` decides whether the sender is penalised (see src/protocols/gossip.ts). */
export class GossipValidationError extends MeshError {
  readonly action: 'ignore' | 'reject'
  constructor (action: 'ignore' | 'reject', code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, { ...options, kind: 'invalid' })
    this.action = action
  }
}

/** The codes of a signed record that failed to decode or verify (src/protocols/envelope.ts). */
export type RecordErrorCode = 'ERR_RECORD_SIZE' | 'ERR_RECORD_DECODE' | 'ERR_RECORD_DOMAIN' | 'ERR_RECORD_KEY' | 'ERR_RECORD_SIGNATURE' | 'ERR_RECORD_SEQ'

/** A signed record failed to decode or verify. */
export class RecordError extends MeshError<RecordErrorCode> {
  constructor (code: RecordErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, { ...options, kind: 'invalid' })
  }
}
