/**
 * Opening the node's stores, and Helia on the node's OWN libp2p (one peer, not two).
 *
 * `openStorage` opens, in this order, the state database (`<dataDir>/state`), the Level datastore
 * (`<dataDir>/datastore`, shared by Helia's pins and libp2p's peer store) and the metered Level blockstore
 * (`<dataDir>/blocks`). The node calls it BEFORE creating libp2p, so that it can pass `datastore` to createMeshLibp2p.
 *
 * `startHelia` then builds a light Helia around the already-running libp2p: bitswap is the only block broker, the mesh
 * DHT (through libp2p's content routing) the only router. No public bootstrap, delegated routing or gateways unless
 * `publicIpfs` is set. Stopping Helia never stops libp2p (the node owns it) and never closes the Level stores
 * (`Storage.close` does).
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { createHeliaLight, type Helia, type Router, type Provider, type Peer, type RoutingOptions } from 'helia'
import { withBitswap } from '@helia/bitswap'
import { LevelBlockstore } from 'blockstore-level'
import { LevelDatastore } from 'datastore-level'
import type { Libp2p, AbortOptions } from '@libp2p/interface'
import { peerIdFromCID } from '@libp2p/peer-id'
import type { CID } from 'multiformats/cid'
import { StorageError } from '../common/errors.js'
import { openState, type Migration, type StateStore } from './level.js'
import { MeteredBlockstore } from './metered-blockstore.js'
import { BITSWAP_MAX_MESSAGE_BYTES, BITSWAP_MESSAGE_OVERHEAD_BYTES, DEFAULT_MAX_BLOCK_BYTES, DEFAULT_QUOTA_BYTES, STATE_SCHEMA_VERSION, STORAGE_DIRS } from './constants.js'

export interface OpenStorageInit {
  dataDir: string
  /** Blockstore quota in bytes (default 10 GiB). */
  quotaBytes?: number
  /** Largest block stored or accepted from a peer (default 2 MiB). */
  maxBlockBytes?: number
  /** State schema version this code writes, and the migrations to reach it (see `StateStore`). */
  schemaVersion?: number
  migrations?: Record<number, Migration>
  signal?: AbortSignal
}

/** The node's open stores. `close()` is idempotent and closes them in reverse order of opening. */
export interface Storage {
  dataDir: string
  state: StateStore
  blockstore: MeteredBlockstore
  /** Level datastore: Helia's pins AND libp2p's peer store (pass it to createMeshLibp2p). */
  datastore: LevelDatastore
  close: () => Promise<void>
}

/** Open state, datastore and blockstore under `dataDir`; on failure whatever was opened is closed again. */
export async function openStorage (init: OpenStorageInit): Promise<Storage> {
  init.signal?.throwIfAborted()
  await mkdir(init.dataDir, { recursive: true })
  const closers: Array<() => Promise<void>> = []
  const closeAll = async (): Promise<void> => {
    for (const c of closers.splice(0).reverse()) await c()
  }
  try {
    const state = await openState(join(init.dataDir, STORAGE_DIRS.state), {
      version: init.schemaVersion ?? STATE_SCHEMA_VERSION,
      migrations: init.migrations,
      signal: init.signal
    })
    closers.push(async () => { await state.close() })

    const datastore = new LevelDatastore(join(init.dataDir, STORAGE_DIRS.datastore))
    try {
      await datastore.open()
    } catch (err) {
      throw new StorageError('ERR_STORAGE_OPEN', `cannot open the datastore in ${init.dataDir}`, { cause: err })
    }
    closers.push(async () => { await datastore.close() })

    const blockstore = new MeteredBlockstore(new LevelBlockstore(join(init.dataDir, STORAGE_DIRS.blocks)), state, {
      quotaBytes: init.quotaBytes ?? DEFAULT_QUOTA_BYTES,
      maxBlockBytes: init.maxBlockBytes ?? DEFAULT_MAX_BLOCK_BYTES
    })
    try {
      await blockstore.open({ signal: init.signal })
    } catch (err) {
      throw new StorageError('ERR_STORAGE_OPEN', `cannot open the blockstore in ${init.dataDir}`, { cause: err })
    }
    closers.push(async () => { await blockstore.close() })

    let closing: Promise<void> | undefined
    return {
      dataDir: init.dataDir,
      state,
      blockstore,
      datastore,
      close: async () => { closing ??= closeAll(); await closing }
    }
  } catch (err) {
    await closeAll().catch(() => {})
    throw err
  }
}

/** Helia bound to a libp2p node (bitswap needs `helia.libp2p`), with the DHT lookup allow-list. */
export type MeshHelia = Helia & { libp2p: Libp2p, lookups?: ProviderLookups }

export interface StartHeliaInit {
  libp2p: Libp2p
  storage: Pick<Storage, 'blockstore' | 'datastore'>
  /** Also use public delegated routing and trustless gateways (off: the mesh only). */
  publicIpfs?: boolean
  /** Largest block accepted from a peer: bitswap resets a stream carrying a bigger message. Default 2 MiB. */
  maxBlockBytes?: number
}

/**
 * Which CIDs may trigger a DHT provider lookup. Bitswap asks the routers for providers of EVERY block it wants, but we
 * provide only artifact roots: reading a 64 MiB artifact would start 65 DHT queries at once, flooding the peers' kad
 * stream limits and stalling transfers. So only roots the artifact store is fetching are looked up; wants for every
 * block still go to all connected peers.
 */
function key (cid: CID): string {
  return Buffer.from(cid.multihash.bytes).toString('base64')
}

export class ProviderLookups {
  private readonly allowed = new Map<string, number>()

  /** Allow lookups for `root` until the returned function is called. */
  allow (root: CID): () => void {
    const k = key(root)
    this.allowed.set(k, (this.allowed.get(k) ?? 0) + 1)
    let done = false
    return () => {
      if (done) return
      done = true
      const n = (this.allowed.get(k) ?? 1) - 1
      if (n <= 0) this.allowed.delete(k)
      else this.allowed.set(k, n)
    }
  }

  allows (cid: CID): boolean {
    return this.allowed.has(key(cid))
  }
}

/**
 * Content routing through the node's libp2p (the private mesh DHT): providers of a CID, provide and reprovide.
 * Helia's own libp2p router lives in @helia/libp2p, which only works on a libp2p it creates itself.
 */
class MeshRouter implements Router {
  readonly name = 'libp2p-router'
  constructor (private readonly libp2p: Libp2p, private readonly lookups: ProviderLookups) {}

  async provide (cid: CID, options?: RoutingOptions): Promise<void> {
    await this.libp2p.contentRouting.provide(cid, options)
  }

  async cancelReprovide (cid: CID, options?: AbortOptions): Promise<void> {
    await this.libp2p.contentRouting.cancelReprovide(cid, options)
  }

  async * findProviders (cid: CID, options?: RoutingOptions): AsyncGenerator<Provider> {
    if (!this.lookups.allows(cid)) return
    for await (const p of this.libp2p.contentRouting.findProviders(cid, options)) {
      yield { id: p.id.toCID(), multiaddrs: p.multiaddrs, router: this.name, fallback: false }
    }
  }

  async findPeer (peer: CID, options?: RoutingOptions): Promise<Peer> {
    const info = await this.libp2p.peerRouting.findPeer(peerIdFromCID(peer), options)
    return { id: info.id.toCID(), multiaddrs: info.multiaddrs, router: this.name }
  }

  async * getClosestPeers (key: Uint8Array, options?: RoutingOptions): AsyncGenerator<Peer> {
    for await (const info of this.libp2p.peerRouting.getClosestPeers(key, options)) {
      yield { id: info.id.toCID(), multiaddrs: info.multiaddrs, router: this.name }
    }
  }
}

/** Build and start a light Helia on an existing (started) libp2p, using the node's Level stores. */
export async function startHelia (init: StartHeliaInit): Promise<MeshHelia> {
  const maxBlock = init.maxBlockBytes ?? DEFAULT_MAX_BLOCK_BYTES
  const lookups = new ProviderLookups()
  const helia = createHeliaLight({
    blockstore: init.storage.blockstore,
    datastore: init.storage.datastore,
    logger: init.libp2p.logger,
    routers: [new MeshRouter(init.libp2p, lookups)]
  }) as MeshHelia
  helia.lookups = lookups
  // bitswap reads `libp2p` off the Helia object; this is what @helia/libp2p's mixin does, minus creating a libp2p
  Object.defineProperty(helia, 'libp2p', { value: init.libp2p, enumerable: true })
  withBitswap(helia, {
    // never above yamux's 4 MiB stream read buffer (a bigger message resets the stream and stalls the transfer);
    // blocks over maxBlockBytes that fit in a message are refused by the blockstore before they are stored
    maxIncomingMessageSize: Math.min(maxBlock + BITSWAP_MESSAGE_OVERHEAD_BYTES, BITSWAP_MAX_MESSAGE_BYTES),
    maxOutgoingMessageSize: Math.min(maxBlock + BITSWAP_MESSAGE_OVERHEAD_BYTES, BITSWAP_MAX_MESSAGE_BYTES)
  })
  if (init.publicIpfs === true) {
    const { withHTTP } = await import('@helia/http')
    withHTTP(helia)
  }
  await helia.start()
  return helia
}
