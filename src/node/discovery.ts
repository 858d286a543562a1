/**
 * Keeps the node connected to the mesh: libp2p dials nobody by itself, and kad-dht only walks towards our own id
 * now and then. While we have fewer than `targetPeers` connections, ask the DHT for the peers closest to us on a
 * back-off schedule (fast right after start, when the mesh is still forming) and dial what it returns; peers found by
 * other discovery (bootstrap, mDNS) are dialled as they appear.
 */
import type { PeerId, PeerInfo } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '../common/logger.js'
import type { Service } from '../common/service.js'
import type { MeshLibp2p } from './libp2p.js'

/** Delays between discovery walks: quick while the mesh forms, then every 30 s. */
const SCHEDULE_MS = [300, 700, 1000, 1500, 2000, 3000, 5000, 10_000, 30_000]

/** Keeps the node connected (see the module comment); a node service. */
export class MeshDiscovery implements Service {
  private timer?: NodeJS.Timeout
  private step = 0
  private stopped = false
  private readonly onDiscovery = (evt: CustomEvent<PeerInfo>): void => { this.maybeDial(evt.detail.id) }
  private readonly onConnect = (): void => {
    // a new peer may know peers we do not: walk again soon
    if (this.step > 3) { this.step = 3; this.schedule() }
  }

  constructor (private readonly libp2p: MeshLibp2p, private readonly opts: { targetPeers: number, dialTimeoutMs: number, bootstrap: string[], log: Logger }) {}

  start (): void {
    this.libp2p.addEventListener('peer:discovery', this.onDiscovery)
    this.libp2p.addEventListener('peer:connect', this.onConnect)
    this.schedule()
  }

  stop (): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.libp2p.removeEventListener('peer:discovery', this.onDiscovery)
    this.libp2p.removeEventListener('peer:connect', this.onConnect)
  }

  private schedule (): void {
    clearTimeout(this.timer)
    if (this.stopped) return
    const delay = SCHEDULE_MS[Math.min(this.step, SCHEDULE_MS.length - 1)]
    this.timer = setTimeout(() => { void this.walk().finally(() => { this.step++; this.schedule() }) }, delay)
    this.timer.unref()
  }

  private wantsMore (): boolean {
    return this.libp2p.getConnections().length < this.opts.targetPeers
  }

  private maybeDial (id: PeerId): void {
    if (this.stopped || id.equals(this.libp2p.peerId) || this.libp2p.getConnections(id).length > 0 || !this.wantsMore()) return
    this.libp2p.dial(id, { signal: AbortSignal.timeout(this.opts.dialTimeoutMs) }).catch(err => {
      this.opts.log.debug({ peer: id.toString(), err: (err as Error).message }, 'dial of discovered peer failed')
    })
  }

  private async walk (): Promise<void> {
    if (!this.wantsMore()) return
    if (this.libp2p.getConnections().length === 0) {
      // alone (a failed or lost bootstrap dial): try the bootstrap peers again
      await Promise.allSettled(this.opts.bootstrap.map(async a => await this.libp2p.dial(multiaddr(a), { signal: AbortSignal.timeout(this.opts.dialTimeoutMs) })))
      return
    }
    try {
      for await (const ev of this.libp2p.services.dht.getClosestPeers(this.libp2p.peerId.toMultihash().bytes, { signal: AbortSignal.timeout(5000) })) {
        if (ev.name === 'PEER_RESPONSE') for (const p of ev.closer) this.maybeDial(p.id)
        else if (ev.name === 'FINAL_PEER') this.maybeDial(ev.peer.id)
      }
    } catch (err) {
      this.opts.log.debug({ err: (err as Error).message }, 'discovery walk failed')
    }
  }
}
