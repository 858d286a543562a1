/**
 * Keeps the node connected to the mesh: libp2p dials nobody by itself, and kad-dht only walks towards our own id
 * now and then. While we have fewer than `targetPeers` connections, ask the DHT for the peers closest to us on a
 * back-off schedule (fast right after start, when the mesh is still forming) and dial what it returns; peers found by
 * other discovery (bootstrap, mDNS) are dialled as they appear.
 *
 * After the start-up schedule, a walk that finds nobody new backs off further (up to every 10 minutes): a mesh
 * smaller than `targetPeers` never reaches the target, and walking it every 30 s cost each of 20 idle nodes a DHT
 * query to every peer (and a peer-store write per peer in every answer). A new connection, or a walk that found
 * someone, brings the quick schedule back.
 */
import type { PeerId, PeerInfo } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '../common/logger.js'
import type { Service } from '../common/service.js'
import type { MeshLibp2p } from './libp2p.js'

/** Delays between discovery walks: quick while the mesh forms, then every 30 s while walks find new peers. */
const SCHEDULE_MS = [300, 700, 1000, 1500, 2000, 3000, 5000, 10_000, 30_000]
/** Delays after walks that found nobody new, one step per fruitless walk (then stays at the last). */
const IDLE_SCHEDULE_MS = [60_000, 120_000, 300_000, 600_000]

/** Keeps the node connected (see the module comment); a node service. */
export class MeshDiscovery implements Service {
  private timer?: NodeJS.Timeout
  private step = 0
  /** Walks in a row that found no peer we were not connected to. */
  private fruitless = 0
  private stopped = false
  private readonly onDiscovery = (evt: CustomEvent<PeerInfo>): void => { this.maybeDial(evt.detail.id) }
  private readonly onConnect = (): void => {
    // a new peer may know peers we do not (and a node joining the mesh is one): walk again soon
    if (this.step > 3 || this.fruitless > 0) { this.step = Math.min(this.step, 3); this.fruitless = 0; this.schedule() }
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
    const delay = this.fruitless > 0 ? IDLE_SCHEDULE_MS[Math.min(this.fruitless - 1, IDLE_SCHEDULE_MS.length - 1)] : SCHEDULE_MS[Math.min(this.step, SCHEDULE_MS.length - 1)]
    this.timer = setTimeout(() => {
      void this.walk().then(found => {
        // past the start-up schedule, a walk that completed and found nobody new backs off (IDLE_SCHEDULE_MS); a
        // failed walk (timed out on a busy machine) proves nothing and keeps the schedule
        if (found !== 0) this.fruitless = 0
        else if (this.step >= SCHEDULE_MS.length - 1) this.fruitless++
      }, () => {}).finally(() => { this.step++; this.schedule() })
    }, delay)
    this.timer.unref()
  }

  private wantsMore (): boolean {
    return this.libp2p.getConnections().length < this.opts.targetPeers
  }

  /** Dial a discovered peer unless connected or at the target; true when a dial was started. */
  private maybeDial (id: PeerId): boolean {
    if (this.stopped || id.equals(this.libp2p.peerId) || this.libp2p.getConnections(id).length > 0 || !this.wantsMore()) return false
    this.libp2p.dial(id, { signal: AbortSignal.timeout(this.opts.dialTimeoutMs) }).catch(err => {
      this.opts.log.debug({ peer: id.toString(), err: (err as Error).message }, 'dial of discovered peer failed')
    })
    return true
  }

  /**
   * One walk; resolves with the number of new peers it dialled, or -1 when it could not tell (alone, or the walk
   * failed), so the schedule does not back off.
   */
  private async walk (): Promise<number> {
    if (!this.wantsMore()) return 0
    if (this.libp2p.getConnections().length === 0) {
      // alone (a failed or lost bootstrap dial): try the bootstrap peers again
      await Promise.allSettled(this.opts.bootstrap.map(async a => await this.libp2p.dial(multiaddr(a), { signal: AbortSignal.timeout(this.opts.dialTimeoutMs) })))
      return -1
    }
    let dialled = 0
    try {
      for await (const ev of this.libp2p.services.dht.getClosestPeers(this.libp2p.peerId.toMultihash().bytes, { signal: AbortSignal.timeout(5000) })) {
        if (ev.name === 'PEER_RESPONSE') { for (const p of ev.closer) if (this.maybeDial(p.id)) dialled++ } else if (ev.name === 'FINAL_PEER' && this.maybeDial(ev.peer.id)) dialled++
      }
    } catch (err) {
      this.opts.log.debug({ err: (err as Error).message }, 'discovery walk failed')
      return dialled > 0 ? dialled : -1
    }
    return dialled
  }
}
