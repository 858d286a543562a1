/**
 * The hardware record a node advertises: what it has (CPU, RAM, GPUs, board, OS, TensorFlow.js backend), what it
 * measured (training samples/s), and the caps its profile sets. Signed with the peer key (HARDWARE_DOMAIN),
 * gossiped on HARDWARE_TOPIC and served on HARDWARE_PROTOCOL; opened by the generic record opener.
 */
import { Type, type Static } from '@sinclair/typebox'
import type { SignedRecord } from '../../protocols/envelope.js'
import { openGossipRecord, openSignedRecord, schemaParser, type RecordSpec } from '../../protocols/record.js'
import type { ReplayGuard } from '../../protocols/replay.js'
import { protocolId, topicName } from '../../protocols/topics.js'

/** The gossip topic of hardware adverts. */
export const HARDWARE_TOPIC = topicName('hardware', 1)
/** The signing domain of hardware records (a signature for another domain never verifies as one). */
export const HARDWARE_DOMAIN = 'meshnode/hardware-record'
/** Ask a peer for its signed record (one length-prefixed record in answer). */
export const HARDWARE_PROTOCOL = protocolId('hardware', '1.0.0')
/** Download a requested number of bytes from a peer, to time it. */
export const BANDWIDTH_PROTOCOL = protocolId('bandwidth', '1.0.0')

/** The only record version understood. */
export const HARDWARE_RECORD_VERSION = 1
/** A record is a few hundred bytes; anything near this cap is abuse. */
export const MAX_HARDWARE_RECORD_BYTES = 16 * 1024

const Str = (max = 256): ReturnType<typeof Type.String> => Type.String({ maxLength: max })
const NonNeg = Type.Number({ minimum: 0 })

/** The record's one schema: gossip validation, the stream answer and the API's response all use it. */
export const HardwareRecordSchema = Type.Object({
  agent: Str(64),
  profile: Str(32),
  cpu: Type.Object({ model: Str(), cores: Type.Integer({ minimum: 1, maximum: 4096 }), arch: Str(32), speedMHz: NonNeg }, { additionalProperties: false }),
  memory: Type.Object({ totalMB: NonNeg, freeMB: NonNeg }, { additionalProperties: false }),
  gpus: Type.Array(Type.Object({ name: Str(), memoryMB: NonNeg, driver: Str(64) }, { additionalProperties: false }), { maxItems: 16 }),
  board: Type.Object({
    kind: Type.Union([Type.Literal('jetson'), Type.Literal('raspberry-pi'), Type.Literal('generic')]),
    model: Str()
  }, { additionalProperties: false }),
  os: Type.Object({ platform: Str(32), release: Str(128), distro: Str(128) }, { additionalProperties: false }),
  tfjs: Type.Object({ backend: Str(32), version: Str(32) }, { additionalProperties: false }),
  bench: Type.Union([
    Type.Null(),
    Type.Object({ samplesPerSec: NonNeg, model: Str(64), batchSize: Type.Integer({ minimum: 1 }) }, { additionalProperties: false })
  ]),
  resources: Type.Object({
    trainingThreads: Type.Integer({ minimum: 1 }),
    maxMemoryMB: NonNeg,
    dutyCycle: Type.Number({ minimum: 0.01, maximum: 1 })
  }, { additionalProperties: false })
}, { additionalProperties: false })

/** A node's hardware advert. */
export type HardwareRecord = Static<typeof HardwareRecordSchema>

/** A verified record from a peer, as the node keeps it. */
export interface PeerHardware {
  peerId: string
  seq: number
  receivedAt: number
  record: HardwareRecord
}

/** How a hardware record is opened (size cap, domain, version, schema). */
export const hardwareRecordSpec: RecordSpec<HardwareRecord> = {
  name: 'hardware record',
  domain: HARDWARE_DOMAIN,
  version: HARDWARE_RECORD_VERSION,
  maxBytes: MAX_HARDWARE_RECORD_BYTES,
  parse: schemaParser('hardware record', HardwareRecordSchema)
}

/** Decode and verify a signed hardware record without replay checks (a stream answer). */
export async function openHardwareRecord (bytes: Uint8Array): Promise<SignedRecord<HardwareRecord>> {
  return await openSignedRecord(bytes, hardwareRecordSpec)
}

/** Full gossip validation (a record fresh and unseen; `source` forwarded it): src/protocols/record.ts. */
export async function validateHardwareGossip (bytes: Uint8Array, source: string, guard: ReplayGuard): Promise<SignedRecord<HardwareRecord>> {
  return await openGossipRecord(bytes, source, guard, hardwareRecordSpec)
}

/** One line for tables: "8x Ryzen 7 · 32 GB · RTX 4090 · 1234 samples/s". */
export function hardwareSummary (r: HardwareRecord): string {
  const parts = [`${r.cpu.cores}x ${r.cpu.arch}`, `${Math.round(r.memory.totalMB / 1024)} GB`]
  if (r.gpus.length > 0) parts.push(r.gpus.map(g => g.name).join('+'))
  if (r.board.kind !== 'generic') parts.push(r.board.kind)
  if (r.bench != null) parts.push(`${Math.round(r.bench.samplesPerSec)} samples/s`)
  return parts.join(' · ')
}
