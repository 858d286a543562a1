/**
 * The hardware record a node advertises: what it has (CPU, RAM, GPUs, board, OS, TensorFlow.js backend), what it
 * measured (training samples/s), and the caps its profile sets. Signed with the peer key (DOMAINS.hardware),
 * gossiped on TOPICS.hardware and served on PROTOCOLS.hardware.
 */
import { Type, type Static } from '@sinclair/typebox'

export const HARDWARE_RECORD_VERSION = 1
/** A record is a few hundred bytes; anything near this cap is abuse. */
export const MAX_HARDWARE_RECORD_BYTES = 16 * 1024

const Str = (max = 256): ReturnType<typeof Type.String> => Type.String({ maxLength: max })
const NonNeg = Type.Number({ minimum: 0 })

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

export type HardwareRecord = Static<typeof HardwareRecordSchema>

/** A verified record from a peer, as the node keeps it. */
export interface PeerHardware {
  peerId: string
  seq: number
  receivedAt: number
  record: HardwareRecord
}

/** One line for tables: "8x Ryzen 7 · 32 GB · RTX 4090 · 1234 samples/s". */
export function hardwareSummary (r: HardwareRecord): string {
  const parts = [`${r.cpu.cores}x ${r.cpu.arch}`, `${Math.round(r.memory.totalMB / 1024)} GB`]
  if (r.gpus.length > 0) parts.push(r.gpus.map(g => g.name).join('+'))
  if (r.board.kind !== 'generic') parts.push(r.board.kind)
  if (r.bench != null) parts.push(`${Math.round(r.bench.samplesPerSec)} samples/s`)
  return parts.join(' · ')
}
