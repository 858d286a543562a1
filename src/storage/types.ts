/**
 * Public types of the artifact store: its init (serializable options), its components (the small slices of the
 * node's stores, Helia and libp2p it uses) and the options of its calls. Request and result records are `Static<>`
 * of the schemas in api-schemas.ts.
 */
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Helia } from 'helia'
import type { Datastore } from 'interface-datastore'
import type { Clock } from '../common/clock.js'
import type { EventSink } from '../common/events.js'
import type { Logger } from '../common/logger.js'
import type { GossipProcessor } from '../protocols/gossip.js'
import type { ArtifactAddQuery, ArtifactPinQuery } from './api-schemas.js'
import type { UnixFSBlockstore } from './block-tracking.js'
import type { StorageEvents } from './events.js'
import type { StateStore } from './level.js'
import type { MeteredBlockstore } from './metered-blockstore.js'
import type { StorageMetrics } from './metrics.js'

/** Options of `add`: the metadata to sign, and how the bytes arrive. */
export interface AddArtifactOptions extends ArtifactAddQuery {
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

/** Options of reads (`open`, `cat`) and pins. */
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

/** Options of `pin`: a fetch, and metadata for a CID nobody announced (default: name = the CID, kind 'other'). */
export interface PinOptions extends FetchOptions, ArtifactPinQuery {}

/** The artifact store's serializable options; defaults in constants.ts (`DEFAULT_ARTIFACT_STORE_INIT`). */
export interface ArtifactStoreInit {
  /** Idle timeout for network reads: fail when no block arrives for this long. Default 30 s. */
  fetchTimeoutMs?: number
  /** Largest artifact added, read or pinned. Default 4 GiB. */
  maxArtifactBytes?: number
  /** Accepted age of announcements (the replay window). Default 10 min. */
  recordMaxAgeMs?: number
  /** Accepted future skew of announcements. Default 30 s. */
  recordMaxSkewMs?: number
  /** Known remote artifacts kept at most. Default 10,000. */
  maxRemoteEntries?: number
  /** Provide added roots on the mesh DHT. Default true. */
  provide?: boolean
  /** Roots wait this long (spread +-50%) for more to be provided with them in one batch (providers.ts). Default 30 s. */
  provideBatchDelayMs?: number
  /** Collect orphaned blocks at start when a crash left an operation unfinished. Default true. */
  gcOnRecovery?: boolean
}

/**
 * The libp2p calls the store makes: dial holders of an artifact, look up and provide roots on the DHT (batched
 * through kad-dht's service, `services.dht`, when the node has one: batch-provide.ts).
 */
export type ArtifactNetwork = Pick<Libp2p, 'peerId' | 'dial' | 'getConnections' | 'contentRouting' | 'dialProtocol' | 'getMultiaddrs' | 'services'>

/** The Helia slice the store uses: its networked blockstore (bitswap), its pin index and the libp2p under it. */
export interface ArtifactHelia {
  /** `createSession`: reads that name the peers holding an artifact ask them alone first (hinted.ts). */
  blockstore: UnixFSBlockstore & Partial<Pick<Helia['blockstore'], 'createSession'>>
  pins: Pick<Helia['pins'], 'isPinned'>
  libp2p: ArtifactNetwork
}

/** The node's blockstore as the store uses it: quota and counts, presence, deletion, listing and compaction. */
export type ArtifactBlockstore = Pick<MeteredBlockstore, 'usedBytes' | 'quotaBytes' | 'freeBytes' | 'blockCount' | 'has' | 'delete' | 'entries' | 'compact'>

/** The node's state store as the registry uses it. */
export type ArtifactStateStore = Pick<StateStore, 'sublevel' | 'atomic'>

/** The node's stores as the artifact store uses them (`Storage` from `openStorage` fits). */
export interface ArtifactStores {
  state: ArtifactStateStore
  blockstore: ArtifactBlockstore
  /** Helia's pin index lives here. */
  datastore: Datastore
}

/** What the artifact store is built from (`artifactStore(init)(components)`). */
export interface ArtifactStoreComponents {
  helia: ArtifactHelia
  storage: ArtifactStores
  /** The node key: signs artifact records. */
  privateKey: PrivateKey
  /** Announce on and listen to ARTIFACT_TOPIC (absent: no gossip). */
  gossip?: Pick<GossipProcessor, 'register' | 'publish'>
  events?: EventSink<StorageEvents>
  logger?: Logger
  clock?: Clock
  /** `meshnode_storage_*` metrics (createStorageMetrics on the node's registry). */
  metrics?: StorageMetrics
}
