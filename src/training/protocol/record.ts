/**
 * The training message as a signed record: how to sign one, and the `RecordSpec` the generic wire kit
 * (src/protocols/record.ts) opens it with. What is particular to training lives in `parse`: the per-type schema
 * dispatch (a type we do not know is ignored, so a later minor addition is not punished), then the message rules.
 *
 * One schema per message holds every bound, and the validator still reports a malformed message (ERR_SCHEMA), a
 * CID that is not one (ERR_CID) and a value out of bounds (ERR_BOUNDS) apart: it checks the schema with its bounds
 * relaxed first, then with CID patterns, then whole.
 */
import type { PrivateKey } from '@libp2p/interface'
import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { GossipValidationError } from '../../common/errors.js'
import { signRecord, type SignedRecord } from '../../protocols/envelope.js'
import { openGossipRecord, openSignedRecord, type RecordSpec } from '../../protocols/record.js'
import type { ReplayGuard } from '../../protocols/replay.js'
import { checkTrainingMessage } from './checks.js'
import { CID_PATTERN } from './job-schema.js'
import { stripUndefined } from './job-id.js'
import { MAX_TRAINING_MESSAGE_BYTES, TRAINING_MESSAGE_SCHEMAS, TRAINING_MESSAGE_VERSION, type TrainingMessage } from './messages.js'
import { TRAINING_DOMAIN } from './topic.js'

const NUMERIC_BOUNDS = new Set<PropertyKey>(['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'])

/** A copy of `schema` without what `drop` names on each node (symbol keys, such as TypeBox's Kind, are kept). */
function without (schema: unknown, drop: (node: Record<PropertyKey, unknown>, key: PropertyKey) => boolean): unknown {
  if (Array.isArray(schema)) return schema.map(s => without(s, drop))
  if (schema == null || typeof schema !== 'object') return schema
  const node = schema as Record<PropertyKey, unknown>
  const out: Record<PropertyKey, unknown> = {}
  for (const key of Reflect.ownKeys(node)) if (!drop(node, key)) out[key] = without(node[key], drop)
  return out
}

const isBound = (node: Record<PropertyKey, unknown>, key: PropertyKey): boolean =>
  (node.type === 'number' || node.type === 'integer') && NUMERIC_BOUNDS.has(key)
const isCidPattern = (node: Record<PropertyKey, unknown>, key: PropertyKey): boolean => key === 'pattern' && node.pattern === CID_PATTERN

interface Passes { shape: TypeCheck<TSchema>, cids: TypeCheck<TSchema>, full: TypeCheck<TSchema> }

const PASSES = new Map<string, Passes>(Object.entries(TRAINING_MESSAGE_SCHEMAS).map(([type, schema]) => [type, {
  shape: TypeCompiler.Compile(without(schema, (n, k) => isBound(n, k) || isCidPattern(n, k)) as TSchema),
  cids: TypeCompiler.Compile(without(schema, isBound) as TSchema),
  full: TypeCompiler.Compile(schema)
}]))

function firstError (check: TypeCheck<TSchema>, payload: unknown): { path: string, message: string } {
  const e = check.Errors(payload).First()
  return { path: e?.path ?? '/', message: e?.message ?? 'schema mismatch' }
}

/**
 * Check a decoded payload: an object whose `type` is known, its schema, then the message rules (checks.ts); returns
 * it typed. Throws GossipValidationError: reject ERR_SCHEMA, ERR_CID, ERR_BOUNDS and the rules' codes; ignore
 * ERR_UNKNOWN_TYPE.
 */
export function parseTrainingMessage (payload: unknown, signer: string): TrainingMessage {
  if (payload == null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new GossipValidationError('reject', 'ERR_SCHEMA', 'training message is not a map')
  }
  const type: unknown = (payload as { type?: unknown }).type
  if (typeof type !== 'string') throw new GossipValidationError('reject', 'ERR_SCHEMA', 'training message has no type')
  const passes = PASSES.get(type)
  if (passes === undefined) throw new GossipValidationError('ignore', 'ERR_UNKNOWN_TYPE', `unknown training message type ${JSON.stringify(type).slice(0, 40)}`)
  if (!passes.shape.Check(payload)) {
    const e = firstError(passes.shape, payload)
    throw new GossipValidationError('reject', 'ERR_SCHEMA', `${type} message invalid at ${e.path}: ${e.message}`)
  }
  if (!passes.cids.Check(payload)) throw new GossipValidationError('reject', 'ERR_CID', `${type} message: ${firstError(passes.cids, payload).path} is not a CIDv1 base32 string`)
  if (!passes.full.Check(payload)) throw new GossipValidationError('reject', 'ERR_BOUNDS', `${type} message: ${firstError(passes.full, payload).path} is out of bounds`)
  const msg = payload as TrainingMessage
  checkTrainingMessage(msg, signer)
  return msg
}

/** How the wire kit opens a training message. */
export const TRAINING_RECORD: RecordSpec<TrainingMessage> = {
  name: 'training message',
  domain: TRAINING_DOMAIN,
  version: TRAINING_MESSAGE_VERSION,
  maxBytes: MAX_TRAINING_MESSAGE_BYTES,
  parse: parseTrainingMessage
}

/** Sign a training message; `seq` comes from the node's SeqSource (signing time in ms, strictly increasing). */
export async function encodeTrainingMessage (privateKey: PrivateKey, seq: number, msg: TrainingMessage): Promise<Uint8Array> {
  return await signRecord(privateKey, TRAINING_DOMAIN, TRAINING_MESSAGE_VERSION, seq, stripUndefined(msg))
}

/** Decode and verify a training message without author or replay checks (see `openSignedRecord`). */
export async function decodeTrainingMessage (bytes: Uint8Array): Promise<SignedRecord<TrainingMessage>> {
  return await openSignedRecord(bytes, TRAINING_RECORD)
}

/** Full gossip validation of a training message (freshness, replay; `source` forwarded it); returns the verified record. */
export async function validateTrainingGossip (bytes: Uint8Array, source: string, guard: ReplayGuard): Promise<SignedRecord<TrainingMessage>> {
  return await openGossipRecord(bytes, source, guard, TRAINING_RECORD)
}
