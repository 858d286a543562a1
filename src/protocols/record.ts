/**
 * Opening a signed application record, once for every topic: size cap, envelope decode, domain, signature, version
 * (unknown: ignore, so a later version is not punished), the payload's schema and rules, and, for gossip, freshness
 * and replay. Each subsystem describes its records with a `RecordSpec` in its own
 * `protocol/` folder; this module knows none of them.
 *
 * Every failure is a GossipValidationError: 'reject' for what a well-behaved peer never sends, 'ignore' otherwise.
 * The replay guard is consulted last, so a refused message never marks a good one as seen.
 */
import type { TSchema, Static } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { GossipValidationError, RecordError } from '../common/errors.js'
import { openRecord, type SignedRecord } from './envelope.js'
import { recordFingerprint, type ReplayGuard } from './replay.js'

/** How to open one kind of record. */
export interface RecordSpec<T> {
  /** What the record is called in error messages, e.g. `artifact record`. */
  name: string
  /** The signing domain (a signature for another domain never verifies here). */
  domain: string
  /** The only envelope version understood; others are ignored. */
  version: number
  /** Envelope cap in bytes. */
  maxBytes: number
  /** Check the decoded payload (schema, then cross-field rules) and return it typed; throws GossipValidationError. */
  parse: (payload: unknown, signer: string) => T
}

/** A payload parser from a TypeBox schema (ERR_SCHEMA naming the first bad path) and optional further rules. */
export function schemaParser<S extends TSchema> (name: string, schema: S, rules?: (payload: Static<S>, signer: string) => void): (payload: unknown, signer: string) => Static<S> {
  const check = TypeCompiler.Compile(schema)
  return (payload, signer) => {
    if (!check.Check(payload)) {
      const first = check.Errors(payload).First()
      throw new GossipValidationError('reject', 'ERR_SCHEMA', `${name} invalid at ${first?.path ?? '/'}: ${first?.message ?? 'schema mismatch'}`)
    }
    rules?.(payload, signer)
    return payload
  }
}

/**
 * Decode and verify a record without freshness or replay checks (records read back from disk or a stream).
 */
export async function openSignedRecord<T> (bytes: Uint8Array, spec: RecordSpec<T>): Promise<SignedRecord<T>> {
  if (bytes.byteLength > spec.maxBytes) {
    throw new GossipValidationError('reject', 'ERR_TOO_LARGE', `${spec.name} of ${bytes.byteLength} bytes exceeds ${spec.maxBytes}`)
  }
  let rec: SignedRecord<unknown>
  try {
    rec = await openRecord(bytes, { domain: spec.domain, maxBytes: spec.maxBytes })
  } catch (err) {
    if (err instanceof RecordError) throw new GossipValidationError('reject', err.code, err.message, { cause: err })
    throw err
  }
  if (rec.version !== spec.version) throw new GossipValidationError('ignore', 'ERR_VERSION', `unknown ${spec.name} version ${rec.version}`)
  return { ...rec, payload: spec.parse(rec.payload, rec.signer) }
}

/**
 * Full gossip validation: a valid record, fresh, and not seen before. Gossip messages carry no libp2p author (the
 * record's signer is its author), so any peer may be the first to forward a record. A record seen before (ERR_REPLAY)
 * costs nobody when it is the same record again (honest peers relay recent records again after our restart or once
 * gossipsub's seen-cache forgot them, and a signer gossips a vote that a QC or its proposer already carried here);
 * another record under a seq its signer used costs the forwarder when the forwarder is that signer.
 */
export async function openGossipRecord<T> (bytes: Uint8Array, source: string, guard: ReplayGuard, spec: RecordSpec<T>): Promise<SignedRecord<T>> {
  const rec = await openSignedRecord(bytes, spec)
  try {
    guard.check(rec.signer, rec.domain, rec.seq, recordFingerprint(bytes))
  } catch (err) {
    if (err instanceof GossipValidationError && err.code === 'ERR_REPLAY' && source !== rec.signer) {
      throw new GossipValidationError('ignore', err.code, `${err.message} (relayed by a peer other than its signer)`, { cause: err })
    }
    throw err
  }
  return rec
}
