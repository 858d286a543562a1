/** The storage subsystem's options: schema and defaults. `src/node/options.ts` composes them under `storage`. */
import { Type, type Static } from '@sinclair/typebox'
import { DEFAULT_FETCH_TIMEOUT_MS, DEFAULT_MAX_ARTIFACT_BYTES, DEFAULT_QUOTA_BYTES, PROVIDE_BATCH_DELAY_MS } from './constants.js'

/** The `storage` section of the node's options (validated once by src/node/options.ts). */
export const StorageOptionsSchema = Type.Object({
  /** Blockstore quota; adds beyond it fail with ERR_QUOTA. */
  quotaBytes: Type.Integer({ minimum: 1024 * 1024 }),
  fetchTimeoutMs: Type.Integer({ minimum: 100 }),
  maxArtifactBytes: Type.Integer({ minimum: 1024 }),
  /** Dial public IPFS bootstrap nodes and gateways (off: the mesh only). */
  publicIpfs: Type.Boolean(),
  /** A DHT provide batch leaves about this long after its first root (+-50%; providers.ts says why 30 s). */
  provideBatchDelayMs: Type.Integer({ minimum: 0, maximum: 3_600_000 })
}, { additionalProperties: false })

/** The storage subsystem's options. */
export type StorageOptions = Static<typeof StorageOptionsSchema>

/** Defaults of the storage options (the values live in constants.ts). */
export const defaultStorageOptions: StorageOptions = {
  quotaBytes: DEFAULT_QUOTA_BYTES,
  fetchTimeoutMs: DEFAULT_FETCH_TIMEOUT_MS,
  maxArtifactBytes: DEFAULT_MAX_ARTIFACT_BYTES,
  publicIpfs: false,
  provideBatchDelayMs: PROVIDE_BATCH_DELAY_MS
}
