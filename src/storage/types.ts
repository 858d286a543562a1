/** Public types of the artifact store. */
import type { PrivateKey } from '@libp2p/interface'
import type { Clock } from '../common/clock.js'
import type { EventBus } from '../common/events.js'
import type { Logger } from '../common/logger.js'
import type { GossipProcessor } from '../protocols/gossip.js'
import type { ArtifactKind, ArtifactMeta } from '../protocols/validate/artifacts.js'
import type { MeshHelia, Storage } from './helia.js'
import type { StorageMetrics } from './metrics.js'

export type { ArtifactKind, ArtifactMeta }
export type { ArtifactFilter } from './registry.js'

/** An artifact as the API and CLI show it: its signed metadata plus where it is. */
export interface ArtifactInfo extends ArtifactMeta {
  /** The signed metadata record (base64 CBOR envelope, domain DOMAINS.artifact), verifiable with `openRecord`. */
  signature: string
  /** Every block is stored and pinned on this node. False: known from a peer's announcement, or unpinned. */
  local: boolean
}

export interface AddArtifactOptions {
  name: string
  kind?: ArtifactKind
  mediaType?: string
  job?: string
  round?: number
  /** The size when known up front (a file, a Content-Length): an add that cannot fit is refused before any write. */
  expectedSize?: number
  signal?: AbortSignal
  /** Bytes read so far. */
  onProgress?: (bytes: number) => void
  /**
   * Announce it on gossip and provide it on the DHT (default true). Off for artifacts whose holders peers already
   * know, such as training deltas (their signed DeltaAnnounce names the producer).
   */
  announce?: boolean
}

export interface FetchOptions {
  signal?: AbortSignal
  /** Give up when no block arrives for this long (default: `fetchTimeoutMs`). */
  timeoutMs?: number
  /** Refuse artifacts bigger than this (default: `maxArtifactBytes`). */
  maxBytes?: number
  /** Do not ask peers: fail if a block is missing locally. */
  offline?: boolean
  /**
   * Peers known to hold it (peer ids): dialled at once when not connected, and the DHT is asked only if they have
   * not delivered the root after a few seconds.
   */
  providers?: string[]
}

/** An artifact being read: its size, known before the first byte, and the bytes. */
export interface ArtifactContent {
  cid: string
  size: number
  content: AsyncIterable<Uint8Array>
}

export interface PinOptions extends FetchOptions {
  /** Metadata for a CID nobody announced (default: name = the CID, kind 'other'). */
  name?: string
  kind?: ArtifactKind
}

export interface StorageUsage {
  usedBytes: number
  quotaBytes: number
  freeBytes: number
  blocks: number
  artifacts: { local: number, remote: number }
}

export interface GcResult {
  freedBytes: number
  removedBlocks: number
}

export interface ArtifactStoreInit {
  /** Idle timeout for network reads: fail when no block arrives for this long. Default 30 s. */
  fetchTimeoutMs?: number
  /** Largest artifact added, read or pinned. Default 4 GiB. */
  maxArtifactBytes?: number
  /** Accepted age and future skew of announcements (the replay window). Defaults 10 min / 30 s. */
  recordMaxAgeMs?: number
  recordMaxSkewMs?: number
  /** Known remote artifacts kept at most. Default 10,000. */
  maxRemoteEntries?: number
  /** Provide added roots on the mesh DHT. Default true. */
  provide?: boolean
  /** Collect orphaned blocks at start when a crash left an operation unfinished. Default true. */
  gcOnRecovery?: boolean
}

export interface ArtifactStoreComponents {
  helia: MeshHelia
  storage: Pick<Storage, 'state' | 'blockstore' | 'datastore'>
  /** The node key: signs artifact records. */
  privateKey: PrivateKey
  /** Announce on and listen to TOPICS.artifacts (absent: no gossip). */
  gossip?: Pick<GossipProcessor, 'register' | 'publish'>
  events?: EventBus
  logger?: Logger
  clock?: Clock
  /** `meshnode_storage_*` metrics (createStorageMetrics on the node's registry). */
  metrics?: StorageMetrics
}
