/**
 * Validation of a gossiped hardware record: envelope signature, domain, size, schema, author = gossip origin,
 * freshness and replay. Pure apart from the replay guard's clock; throws GossipValidationError or RecordError.
 */
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { openRecord, type SignedRecord } from '../envelope.js'
import { DOMAINS } from '../topics.js'
import type { ReplayGuard } from '../replay.js'
import { GossipValidationError } from '../../common/errors.js'
import { HardwareRecordSchema, MAX_HARDWARE_RECORD_BYTES, HARDWARE_RECORD_VERSION, type HardwareRecord } from '../hardware/record.js'

const check = TypeCompiler.Compile(HardwareRecordSchema)

/** Decode and verify a signed hardware record without replay checks (also used for stream responses). */
export async function openHardwareRecord (bytes: Uint8Array): Promise<SignedRecord<HardwareRecord>> {
  if (bytes.byteLength > MAX_HARDWARE_RECORD_BYTES) {
    throw new GossipValidationError('reject', 'ERR_TOO_LARGE', `hardware record of ${bytes.byteLength} bytes exceeds ${MAX_HARDWARE_RECORD_BYTES}`)
  }
  const rec = await openRecord<HardwareRecord>(bytes, { domain: DOMAINS.hardware, maxBytes: MAX_HARDWARE_RECORD_BYTES })
  if (rec.version !== HARDWARE_RECORD_VERSION) throw new GossipValidationError('ignore', 'ERR_VERSION', `unknown hardware record version ${rec.version}`)
  if (!check.Check(rec.payload)) {
    const first = check.Errors(rec.payload).First()
    throw new GossipValidationError('reject', 'ERR_SCHEMA', `hardware record invalid at ${first?.path ?? '/'}: ${first?.message ?? 'schema mismatch'}`)
  }
  return rec
}

/** Full gossip validation: the record's signer must be the message's author, and the record fresh and unseen. */
export async function validateHardwareGossip (bytes: Uint8Array, origin: string | undefined, guard: ReplayGuard): Promise<SignedRecord<HardwareRecord>> {
  const rec = await openHardwareRecord(bytes)
  if (origin == null || origin !== rec.signer) throw new GossipValidationError('reject', 'ERR_SIGNER', 'record signer is not the message author')
  guard.check(rec.signer, rec.domain, rec.seq)
  return rec
}
