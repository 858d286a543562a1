/** The storage subsystem's options: schema and defaults. `src/node/options.ts` composes them under `storage`. */
import { Type, type Static } from '@sinclair/typebox'

export const StorageOptionsSchema = Type.Object({
  /** Blockstore quota; adds beyond it fail with ERR_QUOTA. */
  quotaBytes: Type.Integer({ minimum: 1024 * 1024 }),
  fetchTimeoutMs: Type.Integer({ minimum: 100 }),
  maxArtifactBytes: Type.Integer({ minimum: 1024 }),
  /** Dial public IPFS bootstrap nodes and gateways (off: the mesh only). */
  publicIpfs: Type.Boolean()
}, { additionalProperties: false })

export type StorageOptions = Static<typeof StorageOptionsSchema>

export const defaultStorageOptions: StorageOptions = {
  quotaBytes: 10 * 1024 ** 3,
  fetchTimeoutMs: 30_000,
  maxArtifactBytes: 4 * 1024 ** 3,
  publicIpfs: false
}
