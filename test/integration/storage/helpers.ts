/**
 * Library-level storage nodes for integration tests: real LevelDB, real Helia, real libp2p (createMeshLibp2p) on
 * 127.0.0.1, wired the way the node wires them (openStorage -> createMeshLibp2p({ datastore }) -> startHelia ->
 * artifactStore on a GossipProcessor).
 */
import '../../../src/node/polyfills.js'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import type { Registry } from 'prom-client'
import { createMeshLibp2p, type MeshLibp2p } from '../../../src/node/libp2p.js'
import { GossipProcessor, type GossipMetrics } from '../../../src/protocols/gossip.js'
import { EventBus, type NodeEvent } from '../../../src/common/events.js'
import { silentLogger } from '../../../src/common/logger.js'
import { openStorage, startHelia, artifactStore, createStorageMetrics, type ArtifactStore, type Storage, type MeshHelia, type ArtifactStoreInit, type OpenStorageInit } from '../../../src/storage/index.js'

export interface StorageNode {
  dataDir: string
  key: PrivateKey
  storage: Storage
  libp2p: MeshLibp2p
  helia: MeshHelia
  gossip: GossipProcessor
  store: ArtifactStore
  events: NodeEvent[]
  /** Gossip validation outcomes seen by this node: `${result}:${code}`. */
  validations: string[]
  peerId: string
  close: () => Promise<void>
}

export interface StartNodeOptions {
  key?: PrivateKey
  storage?: Partial<Omit<OpenStorageInit, 'dataDir'>>
  artifacts?: ArtifactStoreInit
  /** prom-client registry for meshnode_storage_* metrics. */
  metrics?: Registry
}

/** Start a node in the wiring order the daemon uses; `close()` undoes it in reverse. */
export async function startStorageNode (dataDir: string, opts: StartNodeOptions = {}): Promise<StorageNode> {
  const key = opts.key ?? await generateKeyPair('Ed25519')
  const storage = await openStorage({ dataDir, ...opts.storage })
  const libp2p = await createMeshLibp2p({ privateKey: key, listen: ['/ip4/127.0.0.1/tcp/0'], datastore: storage.datastore, mdns: false, ipColocationThreshold: 1000 })
  const helia = await startHelia({ libp2p, storage, maxBlockBytes: opts.storage?.maxBlockBytes })
  const validations: string[] = []
  const metrics: GossipMetrics = { validation: { inc: l => { validations.push(`${l.result}:${l.code}`) } } }
  const gossip = new GossipProcessor(libp2p.services.pubsub as any, silentLogger, metrics)
  const bus = new EventBus()
  const events: NodeEvent[] = []
  bus.subscribe(e => { events.push(e) })
  // provides leave a second after an add (30 s in a node): the tests here look for them, not at their pace
  const store = artifactStore({ fetchTimeoutMs: 5_000, provideBatchDelayMs: 1_000, ...opts.artifacts })({ helia, storage, privateKey: key, gossip, events: bus, metrics: opts.metrics != null ? createStorageMetrics(opts.metrics) : undefined })
  await store.start()
  let closed = false
  return {
    dataDir, key, storage, libp2p, helia, gossip, store, events, validations, peerId: libp2p.peerId.toString(),
    close: async () => {
      if (closed) return
      closed = true
      await store.stop()
      gossip.stop()
      await helia.stop()
      await libp2p.stop()
      await storage.close()
    }
  }
}

/** Connect every pair. */
export async function connectAll (nodes: Array<{ libp2p: MeshLibp2p }>): Promise<void> {
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) await nodes[i].libp2p.dial(nodes[j].libp2p.getMultiaddrs()[0])
  }
}

/** Deterministic pseudo-random bytes (fast, reproducible in a child process). */
export function pseudoRandom (n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n)
  const view = new DataView(out.buffer)
  let x = seed >>> 0 || 1
  for (let i = 0; i + 4 <= n; i += 4) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    view.setUint32(i, x >>> 0)
  }
  return out
}

export function sha256 (data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

/** sha256 and length of a stream. */
export async function hashStream (source: AsyncIterable<Uint8Array>): Promise<{ sha: string, bytes: number }> {
  const h = createHash('sha256')
  let bytes = 0
  for await (const c of source) { h.update(c); bytes += c.byteLength }
  return { sha: h.digest('hex'), bytes }
}

/** Disk usage of a directory in bytes (`du -sb`). */
export function du (dir: string): number {
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0])
}

/** Poll with a deadline (never a bare sleep). */
export async function waitFor<T> (check: () => Promise<T> | T, what: string, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v != null && v !== false) return v as NonNullable<T>
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/**
 * Counts the copies of one block this node's bitswap receives from now on, duplicates included: what a test of how often
 * a block crosses the wire needs and no public API tells. Reads Helia's internals (networked storage -> bitswap broker
 * -> its want list's block events) and throws when a Helia upgrade moved them, so a test using it fails loudly, never
 * vacuously.
 */
export function countBitswapBlocks (node: Pick<StorageNode, 'helia'>, cid: string): { count: () => number, stop: () => void } {
  const brokers = (node.helia.blockstore as unknown as { child?: { blockBrokers?: unknown[] } }).child?.blockBrokers ?? []
  const wantList = brokers
    .map(b => (b as { bitswap?: { wantList?: EventTarget } }).bitswap?.wantList)
    .find(w => w != null)
  if (wantList == null) throw new Error('cannot find the bitswap want list in Helia\'s internals (did a Helia upgrade move it?)')
  let n = 0
  const listener = (e: Event): void => { if ((e as CustomEvent<{ cid: { toString: () => string } }>).detail.cid.toString() === cid) n++ }
  wantList.addEventListener('block', listener)
  return { count: () => n, stop: () => { wantList.removeEventListener('block', listener) } }
}
