/**
 * Encoding and decoding of training messages in signed envelopes (DOMAINS.training, TRAINING_MESSAGE_VERSION).
 * Decoding runs every check that needs no context (size, signature, version, schema, bounds); the gossip validator
 * adds the author and replay checks.
 */
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import type { PrivateKey } from '@libp2p/interface'
import type { TSchema } from '@sinclair/typebox'
import { GossipValidationError, RecordError } from '../../common/errors.js'
import { openRecord, signRecord, type SignedRecord } from '../../protocols/envelope.js'
import { DOMAINS } from '../../protocols/topics.js'
import { checkTrainingMessage } from './checks.js'
import { stripUndefined } from './job-id.js'
import {
  MAX_TRAINING_MESSAGE_BYTES, TRAINING_MESSAGE_SCHEMAS, TRAINING_MESSAGE_VERSION,
  type TrainingMessage, type TrainingMessageType
} from './messages.js'

const checkers = Object.fromEntries(
  Object.entries(TRAINING_MESSAGE_SCHEMAS).map(([type, schema]) => [type, TypeCompiler.Compile(schema as TSchema)])
) as Record<TrainingMessageType, TypeCheck<TSchema>>

/** Sign a training message; `seq` comes from the node's SeqSource (signing time in ms, strictly increasing). */
export async function encodeTrainingMessage (privateKey: PrivateKey, seq: number, msg: TrainingMessage): Promise<Uint8Array> {
  return await signRecord(privateKey, DOMAINS.training, TRAINING_MESSAGE_VERSION, seq, stripUndefined(msg))
}

/**
 * Check a decoded payload: an object whose `type` is known ('ignore' ERR_UNKNOWN_TYPE for a string we do not know,
 * so a later minor addition is not punished), its schema (ERR_SCHEMA), then its bounds (see checks.ts).
 */
export function checkTrainingPayload (payload: unknown, signer: string): TrainingMessage {
  if (payload == null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new GossipValidationError('reject', 'ERR_SCHEMA', 'training message is not a map')
  }
  const type = (payload as { type?: unknown }).type
  if (typeof type !== 'string') throw new GossipValidationError('reject', 'ERR_SCHEMA', 'training message has no type')
  if (!Object.hasOwn(checkers, type)) throw new GossipValidationError('ignore', 'ERR_UNKNOWN_TYPE', `unknown training message type ${JSON.stringify(type).slice(0, 40)}`)
  const check = checkers[type as TrainingMessageType]
  if (!check.Check(payload)) {
    const first = check.Errors(payload).First()
    throw new GossipValidationError('reject', 'ERR_SCHEMA', `${type} message invalid at ${first?.path ?? '/'}: ${first?.message ?? 'schema mismatch'}`)
  }
  const msg = payload as TrainingMessage
  checkTrainingMessage(msg, signer)
  return msg
}

/**
 * Decode and verify a training message without author or replay checks. Throws GossipValidationError: reject for
 * ERR_TOO_LARGE, the envelope's codes (ERR_RECORD_*), ERR_SCHEMA and the bounds codes; ignore for ERR_VERSION and
 * ERR_UNKNOWN_TYPE.
 */
export async function decodeTrainingMessage (bytes: Uint8Array): Promise<SignedRecord<TrainingMessage>> {
  if (bytes.byteLength > MAX_TRAINING_MESSAGE_BYTES) {
    throw new GossipValidationError('reject', 'ERR_TOO_LARGE', `training message of ${bytes.byteLength} bytes exceeds ${MAX_TRAINING_MESSAGE_BYTES}`)
  }
  let rec: SignedRecord<unknown>
  try {
    rec = await openRecord(bytes, { domain: DOMAINS.training, maxBytes: MAX_TRAINING_MESSAGE_BYTES })
  } catch (err) {
    if (err instanceof RecordError) throw new GossipValidationError('reject', err.code, err.message)
    throw err
  }
  if (rec.version !== TRAINING_MESSAGE_VERSION) throw new GossipValidationError('ignore', 'ERR_VERSION', `unknown training message version ${rec.version}`)
  const payload = checkTrainingPayload(rec.payload, rec.signer)
  return { ...rec, payload }
}
