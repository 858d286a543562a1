/**
 * Opening the node's stores, and Helia on the node's OWN libp2p (one peer, not two).
 *
 * `openStorage` opens, in this order, the state database (`<dataDir>/state`), the Level datastore
 * (`<dataDir>/datastore`, shared by Helia's pins and libp2p's peer store) and the metered Level blockstore
 * (`<dataDir>/blocks`). The node calls it BEFORE creating libp2p, so that it can pass `datastore` to createMeshLibp2p.
 *
 * `startHelia` then builds a light Helia around the already-running libp2p: bitswap is the only block broker and there
 * is no Helia router (the artifact store provides and looks up roots on the mesh DHT through libp2p's content routing
 * itself). No public bootstrap, delegated routing or gateways unless `publicIpfs` is set. Stopping Helia never stops libp2p (the node owns it) and never closes the Level stores
 * (`Storage.close` does).
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Helia } from 'helia'
import { createLightHelia } from './helia-light.js'
import { withBitswap } from '@helia/bitswap'
import { LevelBlockstore } from 'blockstore-level'
import { LevelDatastore } from 'datastore-level'
import type { Libp2p } from '@libp2p/interface'
import { StorageError } from './errors.js'
import { openState, type Migration, type StateStore } from './level.js'
import { MeteredBlockstore } from './metered-blockstore.js'
import { BITSWAP_MAX_MESSAGE_BYTES, BITSWAP_MESSAGE_OVERHEAD_BYTES, DEFAULT_MAX_BLOCK_BYTES, DEFAULT_QUOTA_BYTES, STATE_SCHEMA_VERSION, STORAGE_DIRS } from './constants.js'

/** Where and how `openStorage` opens the node's stores. */
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

/** Helia bound to a libp2p node (bitswap needs `helia.libp2p`). */
export type MeshHelia = Helia & { libp2p: Libp2p }

/** What `startHelia` builds Helia from: the running libp2p and the node's stores. */
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
/** Build and start a light Helia on an existing (started) libp2p, using the node's Level stores. */
export async function startHelia (init: StartHeliaInit): Promise<MeshHelia> {
  const maxBlock = init.maxBlockBytes ?? DEFAULT_MAX_BLOCK_BYTES
  const helia = await createLightHelia({
    blockstore: init.storage.blockstore,
    datastore: init.storage.datastore,
    logger: init.libp2p.logger,
    // no routers: bitswap asks the routers for providers of EVERY block it wants, while we provide only artifact
    // roots; a 64 MiB read would start 65 DHT queries at once, flood the peers' kad stream limits and stall. The
    // artifact store looks up the providers of a root itself (providers.ts); wants go to every connected peer.
    routers: []
  }) as MeshHelia
  // bitswap reads `libp2p` off the Helia object; this is what @helia/libp2p's mixin does, minus creating a libp2p
  Object.defineProperty(helia, 'libp2p', { value: init.libp2p, enumerable: true })
  // never above yamux's 4 MiB stream read buffer (a bigger message resets the stream and stalls the transfer);
  // blocks over maxBlockBytes that fit in a message are refused by the blockstore before they are stored
  const maxMessageSize = Math.min(maxBlock + BITSWAP_MESSAGE_OVERHEAD_BYTES, BITSWAP_MAX_MESSAGE_BYTES)
  withBitswap(helia, { maxIncomingMessageSize: maxMessageSize, maxOutgoingMessageSize: maxMessageSize })
  if (init.publicIpfs === true) {
    const { withHTTP } = await import('@helia/http')
    withHTTP(helia)
  }
  await helia.start()
  return helia
}
