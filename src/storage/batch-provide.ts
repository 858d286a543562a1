/**
 * Batched DHT provides (in the spirit of kubo's sweep provider). kad-dht's `provide` costs, per root, one DHT walk
 * (FIND_NODE streams to several peers) and then one new stream per closest peer (up to k = 20) for one ADD_PROVIDER
 * message. Profiles of a loaded mesh showed that work dominating every node's CPU: each add made every other node
 * open a stream, negotiate it and merge the provider into its peer store. Here a batch of roots costs one walk per
 * keyspace region and ONE stream per closest peer carrying every ADD_PROVIDER for it (kad's server reads messages in a
 * loop on a stream), and each root still lands on the k closest peers the walks found, plus our own provider record
 * (kad's reprovider republishes from it; `cancelReprovide` removes it). The messages are kad's own: receivers run
 * stock kad-dht (and go-libp2p's), nothing changes on the wire.
 *
 * A region's walk is reused for about WALK_TTL_MS (RegionWalks; each walk's time spread by +-20%, so nodes that
 * walked together drift apart): under steady adds a batch leaves every ~30 s (providers.ts), and a walk each
 * time (FIND_NODE to every peer of a small mesh, each answer read from the peer store and merged back into the
 * asker's) was about a tenth of a loaded 20-node mesh's CPU, to find the same closest peers again. A peer that joined
 * meanwhile gets the region's records from the next walk (and kad's reprovides); a peer that did not take its records
 * makes the walks that found it be forgotten.
 *
 * A walk that found fewer than k peers, towards any key, found every peer it could reach: in a mesh that small every
 * walk finds the same peers, so the node's discovery walks (towards its own id) are offered here too (`exhaustive`)
 * and a batch reuses them. Without them, the first batches of a mesh whose nodes had just settled each walked once
 * more, right after discovery had: in 20-node soaks at 25/s, the p99 of the load's first minute was 3.2 s with those
 * walks and 0.97 s without (120-s runs, one each).
 */
import type { AbortOptions, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { spread } from '../common/jitter.js'

/** The slice of kad-dht's service a batch uses (its concrete class has every member; its public interface lacks two). */
export interface BatchDht {
  readonly k: number
  readonly protocol: string
  readonly routingTable: { readonly size: number }
  readonly providers: { addProvider: (cid: CID, provider: PeerId, options?: AbortOptions) => Promise<void> }
  getClosestPeers: (key: Uint8Array, options?: AbortOptions) => AsyncIterable<{ name: string, peer?: { id: PeerId } }>
}

/** The libp2p calls a batch makes. */
export type BatchNetwork = Pick<Libp2p, 'peerId' | 'dialProtocol' | 'getMultiaddrs'>

/** Provide every root of a batch; resolves when each closest peer got its messages or failed. */
export type ProvideBatch = (roots: CID[], signal: AbortSignal) => Promise<void>

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null

/** Whether `dht` has kad-dht's members a batch uses (checked member by member). */
function isBatchDht (dht: unknown): dht is BatchDht {
  if (!isObject(dht) || typeof dht.k !== 'number' || typeof dht.protocol !== 'string' || typeof dht.getClosestPeers !== 'function') return false
  const { routingTable, providers } = dht
  return isObject(routingTable) && typeof routingTable.size === 'number' && isObject(providers) && typeof providers.addProvider === 'function'
}

/** `dht` as a BatchDht when it is kad-dht's service, else undefined (the queue then provides root by root). */
export function asBatchDht (dht: unknown): BatchDht | undefined {
  return isBatchDht(dht) ? dht : undefined
}

/** Peers written to at once. */
const WRITE_CONCURRENCY = 4

/** How long a region's walk (its closest peers) is reused by later batches. */
export const WALK_TTL_MS = 300_000
/** Each walk is kept WALK_TTL_MS x [1 - WALK_TTL_JITTER, 1 + WALK_TTL_JITTER]. */
const WALK_TTL_JITTER = 0.2

/** A peer found by a walk, with its kad id (the SHA-256 of its multihash). */
export interface WalkPeer { peer: PeerId, id: Uint8Array }

/**
 * The peers each keyspace region's last walk found, kept for `ttlMs`. A region is the first `bits` bits of a key;
 * `bits` grows with the routing table, so it is part of the region's name.
 */
export class RegionWalks {
  private readonly walks = new Map<string, { until: number, peers: WalkPeer[] }>()

  /** Each walk is kept `ttlMs` x [1 - jitter, 1 + jitter] (`random` uniform in [0, 1)). */
  constructor (private readonly ttlMs: number, private readonly now: () => number = Date.now, private readonly jitter = 0, private readonly random: () => number = Math.random) {}

  /** The region's peers, if its walk has not expired. */
  get (bits: number, region: number): WalkPeer[] | undefined {
    const walk = this.walks.get(`${bits}/${region}`)
    return walk != null && this.now() < walk.until ? walk.peers : undefined
  }

  /** Remember a walk's result (an empty one is not worth keeping); expired walks are dropped meanwhile. */
  set (bits: number, region: number, peers: WalkPeer[]): void {
    const now = this.now()
    for (const [name, walk] of this.walks) if (now >= walk.until) this.walks.delete(name)
    const ttl = spread(this.ttlMs, this.jitter, this.random())
    if (peers.length > 0) this.walks.set(`${bits}/${region}`, { until: now + ttl, peers })
  }

  /**
   * A walk towards any key (discovery's, towards our own id) that ended normally: kept as the one region of a small
   * table's keyspace when it found fewer than `k` peers, which means it found every peer it could reach.
   */
  exhaustive (peers: WalkPeer[], k: number): void {
    if (peers.length < k) this.set(0, 0, peers)
  }

  /** Forget every walk that found `peer` (it did not take its records: the next batch walks those regions again). */
  forget (peer: string): void {
    for (const [name, walk] of this.walks) if (walk.peers.some(p => p.peer.toString() === peer)) this.walks.delete(name)
  }
}

/** The walks a node's batches reuse (each kept about WALK_TTL_MS; ArtifactStore also offers discovery's, `exhaustive`). */
export function providerWalks (): RegionWalks {
  return new RegionWalks(WALK_TTL_MS, Date.now, WALK_TTL_JITTER)
}

/** `peers` with their kad ids, `self` left out: a walk's result as RegionWalks keeps it. */
export async function walkPeers (peers: Iterable<PeerId>, self: PeerId): Promise<WalkPeer[]> {
  const found = new Map<string, PeerId>()
  for (const peer of peers) if (!peer.equals(self)) found.set(peer.toString(), peer)
  return await Promise.all([...found.values()].map(async peer => ({ peer, id: await kadId(peer.toMultihash().bytes) })))
}

/**
 * A batch provider on `dht`. Roots are grouped by the first b bits of their DHT key, b chosen so that a region holds
 * about k peers (b = 0, one walk, in a mesh of up to 2k peers); each region's walk targets its first root, and each
 * root then goes to the k peers closest to it among everything the walks found. A region walked less than
 * WALK_TTL_MS ago (by a batch, or by discovery in a small mesh: `walks`) is not walked again.
 */
export function batchProvider (libp2p: BatchNetwork, dht: BatchDht, walks: RegionWalks): ProvideBatch {
  return async (roots, signal) => {
    for (const root of roots) await dht.providers.addProvider(root, libp2p.peerId, { signal })
    const keys = await Promise.all(roots.map(async root => ({ root, id: await kadId(root.multihash.bytes) })))
    const bits = Math.max(0, Math.min(16, Math.floor(Math.log2(Math.max(1, dht.routingTable.size) / dht.k))))
    const regions = new Map<number, typeof keys>()
    for (const key of keys) {
      const region = prefixBits(key.id, bits)
      regions.set(region, [...(regions.get(region) ?? []), key])
    }
    const candidates = new Map<string, WalkPeer>()
    for (const [region, regionKeys] of regions) {
      let peers = walks.get(bits, region)
      if (peers == null) {
        peers = await walk(libp2p, dht, regionKeys[0].root, signal)
        walks.set(bits, region, peers)
      }
      for (const p of peers) candidates.set(p.peer.toString(), p)
    }
    const perPeer = new Map<string, { peer: PeerId, messages: Uint8Array[] }>()
    const self = { id: libp2p.peerId.toMultihash().bytes, addrs: libp2p.getMultiaddrs().map(m => m.bytes) }
    for (const key of keys) {
      const closest = [...candidates.values()].sort((a, b) => compareDistance(a.id, b.id, key.id)).slice(0, dht.k)
      const message = addProviderMessage(key.root.multihash.bytes, self.id, self.addrs)
      for (const c of closest) {
        const entry = perPeer.get(c.peer.toString()) ?? { peer: c.peer, messages: [] }
        entry.messages.push(message)
        perPeer.set(c.peer.toString(), entry)
      }
    }
    const targets = [...perPeer.values()]
    let failures = 0
    const worker = async (): Promise<void> => {
      for (let t = targets.shift(); t != null; t = targets.shift()) {
        await sendAll(libp2p, dht.protocol, t.peer, t.messages, signal).catch(() => { failures++; walks.forget(t.peer.toString()) })
      }
    }
    await Promise.all(Array.from({ length: WRITE_CONCURRENCY }, worker))
    if (perPeer.size > 0 && failures === perPeer.size) throw new Error(`no peer took the provider records (${failures} failed)`)
  }
}

/** kad's walk towards `root`: the closest peers it found (ourselves excluded), with their kad ids. */
async function walk (libp2p: BatchNetwork, dht: BatchDht, root: CID, signal: AbortSignal): Promise<WalkPeer[]> {
  const found: PeerId[] = []
  for await (const event of dht.getClosestPeers(root.multihash.bytes, { signal })) {
    if (event.name === 'FINAL_PEER' && event.peer != null) found.push(event.peer.id)
  }
  return await walkPeers(found, libp2p.peerId)
}

/** One stream to `peer` carrying every message, then closed: kad's server handles them one after another. */
async function sendAll (libp2p: BatchNetwork, protocol: string, peer: PeerId, messages: Uint8Array[], signal: AbortSignal): Promise<void> {
  const stream: Stream = await libp2p.dialProtocol(peer, protocol, { signal })
  try {
    await lpStream(stream).writeV(messages, { signal })
    await stream.close({ signal })
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    throw err
  }
}

async function kadId (bytes: Uint8Array): Promise<Uint8Array> {
  return (await sha256.digest(bytes)).digest
}

/** The first `bits` bits of `id` as a number. */
function prefixBits (id: Uint8Array, bits: number): number {
  let v = 0
  for (let i = 0; i < bits; i++) v = v * 2 + ((id[i >> 3] >> (7 - (i & 7))) & 1)
  return v
}

/** Order of a and b by XOR distance to target. */
function compareDistance (a: Uint8Array, b: Uint8Array, target: Uint8Array): number {
  for (let i = 0; i < target.length; i++) {
    const d = (a[i] ^ target[i]) - (b[i] ^ target[i])
    if (d !== 0) return d
  }
  return 0
}

/** kad-dht's `Message { type: ADD_PROVIDER, key, providers: [PeerInfo { id, multiaddrs }] }`, protobuf-encoded. */
export function addProviderMessage (key: Uint8Array, peerId: Uint8Array, addrs: Uint8Array[]): Uint8Array {
  const peerInfo = concat([field(1, peerId), ...addrs.map(a => field(2, a))])
  return concat([Uint8Array.of(0x08, 2), field(2, key), field(9, peerInfo)])
}

/** A length-delimited protobuf field. */
function field (n: number, bytes: Uint8Array): Uint8Array {
  return concat([varint((n << 3) | 2), varint(bytes.length), bytes])
}

function varint (n: number): Uint8Array {
  const out: number[] = []
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n >>>= 7 }
  out.push(n)
  return Uint8Array.from(out)
}

function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}
