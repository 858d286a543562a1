/**
 * The error hierarchy: one base MeshError with a typed code, one subclass per domain.
 * Match on class or code, never on the message.
 */
export class MeshError extends Error {
  readonly code: string
  constructor (code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/** A configuration value failed validation; `key` names the offending option. */
export class ConfigError extends MeshError {
  readonly key: string
  constructor (key: string, message: string, options?: { cause?: unknown }) {
    super('ERR_CONFIG', `config ${key}: ${message}`, options)
    this.key = key
  }
}

/** A client error surfaced by the admin API as `{ error: { code, message } }` with an HTTP status. */
export class ApiError extends MeshError {
  readonly status: number
  constructor (status: number, code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.status = status
  }
}

/** Raised by pure gossip validators; `action` decides whether the sender is penalised. */
export class GossipValidationError extends MeshError {
  readonly action: 'ignore' | 'reject'
  constructor (action: 'ignore' | 'reject', code: string, message: string) {
    super(code, message)
    this.action = action
  }
}

/** A signed record failed to decode or verify. */
export class RecordError extends MeshError {}

/** Storage layer failures (quota, missing blocks, schema mismatch). */
export class StorageError extends MeshError {}

/** Training failures (bad delta, shape mismatch, unknown dataset). */
export class TrainingError extends MeshError {}
