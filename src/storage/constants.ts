/** Defaults and on-disk names of the storage subsystem. */
import type { ArtifactStoreInit } from './types.js'

/** Sub-directories of `<dataDir>`. */
export const STORAGE_DIRS = {
  state: 'state',
  blocks: 'blocks',
  datastore: 'datastore'
} as const

/** The state store's schema version this code writes. */
export const STATE_SCHEMA_VERSION = 1

/** Sublevel names (one per subsystem). */
export const SUBLEVELS = {
  storage: 'storage',
  artifacts: 'artifacts'
} as const

/** UnixFS chunk size: 1 MiB leaves (Helia's default, matching Filecoin). */
export const CHUNK_BYTES = 1024 * 1024
/** Largest block we store or accept from a peer (a 1 MiB leaf plus generous room for DAG nodes). */
export const DEFAULT_MAX_BLOCK_BYTES = 2 * 1024 * 1024
/**
 * Bitswap messages: room for one largest block plus wantlists and presences, but never above 4 MiB, bitswap's default
 * and yamux's per-stream read buffer (a bigger message resets the stream). With 1 MiB leaves that is 3 blocks a message.
 */
export const BITSWAP_MESSAGE_OVERHEAD_BYTES = 2 * 1024 * 1024
/** Bitswap's message cap (see above). */
export const BITSWAP_MAX_MESSAGE_BYTES = 4 * 1024 * 1024

/** Blockstore quota: adds beyond it fail with ERR_QUOTA. */
export const DEFAULT_QUOTA_BYTES = 10 * 1024 ** 3
/** Idle timeout of network reads and pins: they fail when no block arrives for this long. */
export const DEFAULT_FETCH_TIMEOUT_MS = 30_000
/** Largest artifact added, read or pinned. */
export const DEFAULT_MAX_ARTIFACT_BYTES = 4 * 1024 ** 3
/** Oldest announcement accepted (the replay window). */
export const DEFAULT_RECORD_MAX_AGE_MS = 10 * 60_000
/** Furthest in the future an announcement may be dated (clock skew between peers). */
export const DEFAULT_RECORD_MAX_SKEW_MS = 30_000
/** DHT provide of a new root runs in the background and gives up after this long. */
export const PROVIDE_TIMEOUT_MS = 60_000
/** How long a provide batch waits for more roots after its first (providers.ts says why so long). */
export const PROVIDE_BATCH_DELAY_MS = 30_000
/** Known remote artifacts we remember at most (announcements beyond it are dropped). */
export const DEFAULT_MAX_REMOTE_ENTRIES = 10_000
/** Media type of an artifact added without one. */
export const DEFAULT_MEDIA_TYPE = 'application/octet-stream'
/** How long `ArtifactStore.stop()` waits for adds, pins and gc in flight. */
export const STOP_DRAIN_MS = 5_000
/** A read asks the DHT for providers only if connected peers have not delivered the root within this long. */
export const PROVIDER_LOOKUP_DELAY_MS = 300
/** The same when the reader named peers that hold it: they are dialled at once, the DHT is the fallback. */
export const HINTED_PROVIDER_LOOKUP_DELAY_MS = 5_000

/** Every `ArtifactStoreInit` default, in one place. */
export const DEFAULT_ARTIFACT_STORE_INIT: Readonly<Required<ArtifactStoreInit>> = Object.freeze({
  fetchTimeoutMs: DEFAULT_FETCH_TIMEOUT_MS,
  maxArtifactBytes: DEFAULT_MAX_ARTIFACT_BYTES,
  recordMaxAgeMs: DEFAULT_RECORD_MAX_AGE_MS,
  recordMaxSkewMs: DEFAULT_RECORD_MAX_SKEW_MS,
  maxRemoteEntries: DEFAULT_MAX_REMOTE_ENTRIES,
  provide: true,
  provideBatchDelayMs: PROVIDE_BATCH_DELAY_MS,
  gcOnRecovery: true
})
