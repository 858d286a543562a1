/**
 * Build the node's libp2p peer: TCP + noise + yamux, identify, ping, a private kad-dht in server mode, gossipsub with
 * peer scoring on every meshnode topic, bootstrap and (optionally) mDNS discovery, and connection limits.
 */
import { createHash } from 'node:crypto'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, identifyPush, type Identify, type IdentifyPush } from '@libp2p/identify'
import { ping, type Ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper, type KadDHT } from '@libp2p/kad-dht'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { bootstrap } from '@libp2p/bootstrap'
import { mdns } from '@libp2p/mdns'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import type { ConnectionGater, PeerDiscovery, PrivateKey } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { Datastore } from 'interface-datastore'
import type { Registry } from 'prom-client'
import { KAD_PROTOCOL } from '../protocols/topics.js'
import { VERSION } from './version.js'
import { gossipsubMetrics } from './gossipsub-metrics.js'
import { halfWindowUpdates } from './yamux-window.js'
import { quietShortReads } from './noise-short-reads.js'
import { corkConnections } from './tcp-cork.js'
import { coalesceGossipRpcs } from './gossip-coalesce.js'
import { skipRepeatedMerges } from './peer-merges.js'
import { liveness, type ConnectionLiveness, type LivenessInit } from './liveness.js'
import { ColocationExemptSet, DEFAULT_COLOCATION_EXEMPT, DEFAULT_UNGUARDED_RANGES, cidrToMultiaddr } from './colocation.js'

/** How often kad-dht queries for our own id by itself, past its first query at start: discovery.ts walks instead. */
export const KAD_SELF_QUERY_INTERVAL_MS = 3_600_000
/**
 * How often kad-dht refreshes its routing table past the refresh at start (its default, not configurable: 5 minutes).
 * Each refresh walks towards a random id per bucket in use (common prefix 0 to ~log2 of the mesh size), and in a small
 * mesh every walk asks every peer: in a 20-node mesh ~5 walks x 19 peers per node every 5 minutes, ~19 FIND_NODE
 * requests a minute each way per node at rest, each answered from the peer store (its records decoded) and merged
 * back into it. Our discovery walks keep the table filled near our own id; go-libp2p refreshes every 10 minutes.
 */
export const KAD_TABLE_REFRESH_INTERVAL_MS = 3_600_000
/** The tag libp2p's bootstrap discovery puts on its peers (kept over untagged peers when pruning), for 2 minutes. */
const BOOTSTRAP_TAG = { name: 'bootstrap', value: 50, ttl: 120_000 } as const

/**
 * Dial the bootstrap peers and tag them as libp2p's bootstrap discovery does. The node calls this once it listens,
 * instead of passing `bootstrap` to createMeshLibp2p (which dials at libp2p's start): a node joining a busy mesh would
 * otherwise serve the mesh's greetings (identify, DHT, gossip subscriptions, hardware and consensus records) while
 * it is still starting. A failed dial is left to discovery, which dials the bootstrap peers again while alone.
 */
export async function dialBootstrap (libp2p: Pick<Libp2p, 'dial' | 'peerStore'>, list: readonly string[], dialTimeoutMs = 10_000): Promise<void> {
  await Promise.allSettled(list.map(async a => {
    const conn = await libp2p.dial(multiaddr(a), { signal: AbortSignal.timeout(dialTimeoutMs) })
    await libp2p.peerStore.merge(conn.remotePeer, { tags: { [BOOTSTRAP_TAG.name]: { value: BOOTSTRAP_TAG.value, ttl: BOOTSTRAP_TAG.ttl } } })
  }))
}

/** What identify tells other peers this node runs: `meshnode/<version>`. */
export const AGENT_VERSION = `meshnode/${VERSION}`

// a type alias (not an interface) so it satisfies libp2p's ServiceMap index signature
export type MeshServices = {
  identify: Identify
  identifyPush: IdentifyPush
  ping: Ping
  dht: KadDHT
  pubsub: GossipSub
  liveness: ConnectionLiveness
}

/** The node's libp2p peer with its services. */
export type MeshLibp2p = Libp2p<MeshServices>

/** Ends the topic in a message id's hash input, so no byte can move between topic and data unnoticed. */
const TOPIC_END = Uint8Array.of(0)

/**
 * A gossip message's id: SHA-256 over its topic and data. Every meshnode topic carries records that sign themselves
 * (src/protocols/record.ts: signer, network-bound domain, seq, verified on receipt), so gossipsub runs StrictNoSign:
 * a message has no libp2p author, sequence number or second signature, and its id is its content, as in Ethereum's
 * consensus gossip. StrictSign had every node verify two Ed25519 signatures per message (gossipsub's, with the key
 * rebuilt from the peer id each time, then the record's): a twentieth of all CPU in a 20-node mesh under load, and
 * 110 bytes on every copy. A record relayed again carries the same bytes and so the same id, which the seen-cache
 * drops; once that forgets it, the replay guard refuses it.
 */
export function messageId (msg: { topic: string, data: Uint8Array }): Uint8Array {
  return createHash('sha256').update(msg.topic).update(TOPIC_END).update(msg.data).digest()
}

/** How to build the libp2p peer. */
export interface Libp2pInit {
  privateKey: PrivateKey
  listen: string[]
  announce?: string[]
  bootstrap?: string[]
  mdns?: boolean
  maxConnections?: number
  dialTimeoutMs?: number
  /** New inbound connections accepted per second from one IP (default 5, libp2p's). */
  inboundPerIpPerSecond?: number
  /** Ranges (CIDR) exempt from that guard, the pending-connection cap and pruning (default loopback). */
  unguardedRanges?: readonly string[]
  /** Identities one public IP may hold before gossipsub's colocation penalty applies (default 10). */
  ipColocationThreshold?: number
  /** Address ranges (CIDR) that never count towards colocation (default: loopback and private ranges). */
  ipColocationExempt?: readonly string[]
  maxMessageBytes?: number
  /** Persist the peer store and DHT records (the node passes its Level datastore). */
  datastore?: Datastore
  /** Share one prom-client registry between libp2p and our own metrics. */
  registry?: Registry
  /** Gossip topics with score parameters (the node passes every topic its services use; default none). */
  topics?: readonly string[]
  /** Application penalties (e.g. `PenaltyBook.score`): negative values lower a peer's gossipsub score. */
  appSpecificScore?: (peerId: string) => number
  /**
   * Test-only: libp2p's connection gater (the consensus partition test refuses dials and connections across a cut
   * with one). Not a node option: a config file cannot hold functions. Default: libp2p's, which allows everything.
   */
  connectionGater?: ConnectionGater
  /** Test-only: the liveness service's interval and timeout (liveness.ts; default 60 s and 20 s). */
  liveness?: LivenessInit
  start?: boolean
}

/**
 * Topic score parameters: invalid messages weigh heavily so a peer that forwards rejected records quickly falls
 * below the gossip threshold; first deliveries earn a little.
 */
function topicScores (topics: readonly string[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {}
  for (const topic of topics) {
    out[topic] = {
      topicWeight: 1,
      timeInMeshWeight: 0.01,
      timeInMeshQuantum: 1000,
      timeInMeshCap: 100,
      firstMessageDeliveriesWeight: 1,
      firstMessageDeliveriesDecay: 0.9,
      firstMessageDeliveriesCap: 50,
      meshMessageDeliveriesWeight: 0,
      meshMessageDeliveriesDecay: 0.9,
      meshMessageDeliveriesCap: 10,
      meshMessageDeliveriesThreshold: 1,
      meshMessageDeliveriesWindow: 10,
      meshMessageDeliveriesActivation: 60_000,
      meshFailurePenaltyWeight: 0,
      meshFailurePenaltyDecay: 0.9,
      invalidMessageDeliveriesWeight: -100,
      invalidMessageDeliveriesDecay: 0.99
    }
  }
  return out
}

/** Create (and by default start) the libp2p node. */
export async function createMeshLibp2p (init: Libp2pInit): Promise<MeshLibp2p> {
  halfWindowUpdates()
  quietShortReads()
  const discovery: Array<(components: any) => PeerDiscovery> = []
  if (init.bootstrap != null && init.bootstrap.length > 0) discovery.push(bootstrap({ list: init.bootstrap, timeout: 0 }))
  if (init.mdns === true) discovery.push(mdns({ interval: 10_000 }))
  const maxMessageBytes = init.maxMessageBytes ?? 1024 * 1024 + 64 * 1024

  const node = await createLibp2p({
    privateKey: init.privateKey,
    nodeInfo: { name: 'meshnode', version: VERSION, userAgent: AGENT_VERSION },
    start: init.start ?? true,
    datastore: init.datastore,
    addresses: { listen: init.listen, announce: init.announce ?? [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    // no yamux keep-alive: its ping frame every 30 s per connection from both ends only measures a round trip (a
    // failed one is logged, never acted on); the liveness service (below) sends the same frame and acts on it
    streamMuxers: [yamux({ enableKeepAlive: false })],
    connectionGater: init.connectionGater,
    peerDiscovery: discovery,
    // dead connections are found by the liveness service (liveness.ts: a yamux ping frame, not a stream per ping)
    connectionMonitor: { enabled: false },
    connectionManager: {
      maxConnections: init.maxConnections ?? 200,
      dialTimeout: init.dialTimeoutMs ?? 10_000,
      inboundConnectionThreshold: init.inboundPerIpPerSecond ?? 5,
      // libp2p's allow list: see DEFAULT_UNGUARDED_RANGES
      allow: (init.unguardedRanges ?? DEFAULT_UNGUARDED_RANGES).map(cidrToMultiaddr)
    },
    // process metrics come from our own collector (prefixed meshnode_process_): libp2p's would export them twice
    metrics: init.registry != null ? prometheusMetrics({ registry: init.registry, preserveExistingMetrics: true, collectDefaultMetrics: false }) : undefined,
    services: {
      identify: identify(),
      // services register protocols after libp2p starts (Helia's bitswap, hardware, ...): push the change to peers
      // that identified us earlier, or they never learn we speak them
      identifyPush: identifyPush(),
      // pingers on one connection: kad-dht, our latency probe, remote peers' connection monitors (go-libp2p's,
      // older meshnodes'). Past the default of 2 inbound streams the remote resets the newest, and a connection
      // monitor takes that reset for a dead peer and aborts the whole connection (gossip in flight is lost).
      ping: ping({ maxInboundStreams: 16, maxOutboundStreams: 16 }),
      liveness: liveness(init.liveness),
      dht: kadDHT({
        protocol: KAD_PROTOCOL,
        clientMode: false,
        // our discovery walks (discovery.ts) are self-queries on their own back-off schedule; kad's own every 5 min
        // doubled them, each asking every peer of a small mesh for the peers closest to us (N^2 peer records). Its
        // first, at start, still runs (queries wait for it)
        querySelfInterval: KAD_SELF_QUERY_INTERVAL_MS,
        // keep loopback and LAN addresses: the public-network default strips them
        peerInfoMapper: passthroughMapper
      }),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        maxInboundDataLength: maxMessageBytes,
        globalSignaturePolicy: 'StrictNoSign',
        msgIdFn: messageId,
        // the same record published twice is one message, already out: not an error
        ignoreDuplicatePublishError: true,
        // IDONTWANT saves bandwidth on large messages (deltas' announcements are small, models travel by IPFS);
        // for a few-KiB record, telling every mesh peer not to send it costs as much as receiving it
        idontwantMinDataSize: 16 * 1024,
        ...(init.registry != null ? gossipsubMetrics(init.registry, init.topics ?? []) : {}),
        scoreParams: {
          topics: topicScores(init.topics ?? []) as any,
          appSpecificScore: init.appSpecificScore ?? (() => 0),
          appSpecificWeight: 10,
          // see colocation.ts: the penalty applies to public addresses only, unless configured otherwise
          IPColocationFactorThreshold: init.ipColocationThreshold ?? 10,
          IPColocationFactorWhitelist: new ColocationExemptSet(init.ipColocationExempt ?? DEFAULT_COLOCATION_EXEMPT),
          IPColocationFactorWeight: -10,
          behaviourPenaltyWeight: -1,
          behaviourPenaltyDecay: 0.99,
          decayInterval: 1000
        },
        scoreThresholds: {
          gossipThreshold: -50,
          publishThreshold: -100,
          graylistThreshold: -200,
          acceptPXThreshold: 10,
          opportunisticGraftThreshold: 5
        }
      }) as any
    }
  }) as MeshLibp2p
  setTableRefreshInterval(node, KAD_TABLE_REFRESH_INTERVAL_MS)
  corkConnections(node)
  coalesceGossipRpcs(node.services.pubsub)
  skipRepeatedMerges(node.peerStore, node)
  return node
}

/**
 * Set kad-dht's routing-table refresh interval (a field of its refresher, read when it arms the next refresh: the one
 * at start runs as before). Returns whether the field was there; test/unit/node/kad-refresh.test.ts fails when a
 * kad-dht release moves it.
 */
export function setTableRefreshInterval (node: MeshLibp2p, ms: number): boolean {
  const refresher: unknown = Reflect.get(node.services.dht, 'routingTableRefresh')
  if (typeof refresher !== 'object' || refresher == null || typeof Reflect.get(refresher, 'refreshInterval') !== 'number') return false
  return Reflect.set(refresher, 'refreshInterval', ms)
}
