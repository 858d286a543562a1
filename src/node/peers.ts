/**
 * The peer tracker: last-seen time and ping latency per connected peer, `peer.connected` / `peer.disconnected`
 * events, the connected-peers gauge, and the `/v1/peers` view (with each peer's hardware summary).
 *
 * A peer is pinged once when it connects (so `/v1/peers` shows a latency at once); after that its latency is the
 * round-trip time the liveness service measures on every connection anyway (`Connection.rtt`, every 60 s: liveness.ts).
 * The tracker used to ping every peer every 15 s on top of it (and of kad-dht's pings): a third pinger that only
 * cost CPU and streams.
 */
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { Clock } from '../common/clock.js'
import type { EventSink } from '../common/events.js'
import type { Logger } from '../common/logger.js'
import type { Service } from '../common/service.js'
import type { NodeOwnEvents } from './events.js'
import { hardwareSummary, type PeerHardware } from './hardware/record.js'

/** Serializable options of the peer tracker. */
export interface PeerTrackerInit {
  /** How long the ping on connect may take (default 5 s). */
  pingTimeoutMs?: number
}

/** The peer tracker's dependencies. */
export interface PeerTrackerComponents {
  libp2p: Pick<Libp2p, 'getPeers' | 'getConnections' | 'addEventListener' | 'removeEventListener'>
  /** Pings a peer once on connect (later round trips come from the liveness service's `Connection.rtt`). */
  ping: Pick<Ping, 'ping'>
  /** Verified hardware records, for the one-line summary. */
  hardware?: { get: (peerId: string) => PeerHardware | undefined }
  events: EventSink<Pick<NodeOwnEvents, 'peer.connected' | 'peer.disconnected'>>
  logger: Logger
  clock: Clock
  metrics?: { peers: { set: (value: number) => void } }
  /** This node's gossipsub score of a peer (penalties, reputation, topic behaviour): shown so an operator sees who is muted. */
  gossipScore?: (peerId: string) => number
}

/** One connected peer as `/v1/peers` shows it. */
export interface PeerSummary {
  peerId: string
  addresses: string[]
  latencyMs: number | null
  lastSeen: string
  hardware: string | null
  gossipScore: number | null
}

interface PeerSeen { latencyMs: number | null, lastSeen: number }

const DEFAULT_PING_TIMEOUT_MS = 5000

/** Tracks connected peers; see the module comment. */
export class PeerTracker implements Service {
  private readonly seen = new Map<string, PeerSeen>()
  private started = false
  private readonly onConnect = (evt: CustomEvent<PeerId>): void => {
    const id = evt.detail.toString()
    this.touch(id)
    this.c.metrics?.peers.set(this.c.libp2p.getPeers().length)
    this.c.events.emit('peer.connected', { peerId: id })
    this.c.logger.debug({ peer: id }, 'peer connected')
    this.ping(evt.detail)
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const id = evt.detail.toString()
    this.c.metrics?.peers.set(this.c.libp2p.getPeers().length)
    this.c.events.emit('peer.disconnected', { peerId: id })
    this.c.logger.debug({ peer: id }, 'peer disconnected')
  }

  constructor (private readonly c: PeerTrackerComponents, private readonly init: PeerTrackerInit = {}) {}

  /** Listen for connections and ping each peer once as it connects (those already connected at once). */
  start (): void {
    if (this.started) return
    this.started = true
    this.c.libp2p.addEventListener('peer:connect', this.onConnect)
    this.c.libp2p.addEventListener('peer:disconnect', this.onDisconnect)
    const peers = this.c.libp2p.getPeers()
    if (peers.length > 0) this.c.metrics?.peers.set(peers.length)
    for (const p of peers) { this.touch(p.toString()); this.ping(p) }
  }

  stop (): void {
    if (!this.started) return
    this.started = false
    this.c.libp2p.removeEventListener('peer:connect', this.onConnect)
    this.c.libp2p.removeEventListener('peer:disconnect', this.onDisconnect)
  }

  /**
   * Connected peers with addresses, latency, last seen and hardware summary, sorted by peer id. Where the connection
   * monitor has measured a round trip, that is the latency, and the peer was seen within its interval (it closes a
   * connection whose ping fails), so "last seen" is now.
   */
  peers (): PeerSummary[] {
    return this.c.libp2p.getPeers().map(p => {
      const id = p.toString()
      const seen = this.seen.get(id)
      const hw = this.c.hardware?.get(id)
      const conns = this.c.libp2p.getConnections(p)
      const rtts = conns.map(c => c.rtt).filter((r): r is number => r != null && Number.isFinite(r))
      const monitored = rtts.length > 0
      return {
        peerId: id,
        addresses: conns.map(c => c.remoteAddr.toString()),
        latencyMs: monitored ? Math.round(Math.min(...rtts)) : seen?.latencyMs ?? null,
        lastSeen: new Date(monitored ? this.c.clock.now() : seen?.lastSeen ?? this.c.clock.now()).toISOString(),
        hardware: hw != null ? hardwareSummary(hw.record) : null,
        gossipScore: this.score(id)
      }
    }).sort((a, b) => a.peerId.localeCompare(b.peerId))
  }

  private score (id: string): number | null {
    const s = this.c.gossipScore?.(id)
    return s != null && Number.isFinite(s) ? Math.round(s * 1000) / 1000 : null
  }

  private touch (id: string, latencyMs?: number): void {
    const prev = this.seen.get(id)
    this.seen.set(id, { latencyMs: latencyMs ?? prev?.latencyMs ?? null, lastSeen: this.c.clock.now() })
  }

  private ping (peer: PeerId): void {
    this.c.ping.ping(peer, { signal: AbortSignal.timeout(this.init.pingTimeoutMs ?? DEFAULT_PING_TIMEOUT_MS) })
      .then(ms => { this.touch(peer.toString(), ms) })
      .catch(() => {})
  }
}

/** The peer tracker factory: `peerTracker(init)(components)`. */
export function peerTracker (init: PeerTrackerInit = {}): (components: PeerTrackerComponents) => PeerTracker {
  return components => new PeerTracker(components, init)
}
