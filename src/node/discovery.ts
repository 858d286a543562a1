/**
 * Keeps the node connected to the mesh: libp2p dials nobody by itself, and kad-dht only walks towards our own id
 * now and then. While we have fewer than `targetPeers` connections, ask the DHT for the peers closest to us on a
 * back-off schedule (discovery-schedule.ts: fast right after start, when the mesh is still forming; then backing off
 * while walks find nobody new, with one walk soon after each new connection) and dial what it returns; peers found
 * by other discovery (bootstrap, mDNS) are dialled as they appear.
 */
import type { PeerId, PeerInfo } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '../common/logger.js'
import type { Service } from '../common/service.js'
import type { MeshLibp2p } from './libp2p.js'
import { SOON_MS, afterWalk, initialSchedule, nextWalkDelay, onConnection, walkOutcome, type WalkSchedule } from './discovery-schedule.js'

/** Keeps the node connected (see the module comment); a node service. */
export class MeshDiscovery implements Service {
  private timer?: NodeJS.Timeout
  private state: WalkSchedule = initialSchedule
  private stopped = false
  private readonly onDiscovery = (evt: CustomEvent<PeerInfo>): void => { this.maybeDial(evt.detail.id) }
  private readonly onConnect = (): void => {
    // a new peer may know peers we do not (and a node joining the mesh is one): walk again soon
    const { state, rearm } = onConnection(this.state)
    this.state = state
    if (rearm !== 'no') this.schedule(rearm === 'soon' ? SOON_MS : undefined)
  }

  /**
   * `onWalk`: the closest peers of each walk that ended normally (a walk that found fewer than k found every peer it
   * could reach; the provide batches reuse those instead of walking again, batch-provide.ts).
   */
  constructor (private readonly libp2p: MeshLibp2p, private readonly opts: { targetPeers: number, dialTimeoutMs: number, bootstrap: string[], log: Logger, onWalk?: (closest: PeerId[]) => void }) {}

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

  /** Arm the next walk: after `delayMs`, or when the schedule says. */
  private schedule (delayMs = nextWalkDelay(this.state, Math.random())): void {
    clearTimeout(this.timer)
    if (this.stopped) return
    this.timer = setTimeout(() => {
      void this.walk().then(found => { this.state = afterWalk(this.state, found) }, () => { this.state = afterWalk(this.state, -1) })
        .finally(() => { this.schedule() })
    }, delayMs)
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
   * failed before any peer answered), so the schedule does not back off. A walk that timed out after peers answered
   * naming nobody new found nobody: taken for a failure, it put the schedule back to every 30 s, and in a 20-node mesh
   * on a busy machine some walk of the 20 always timed out.
   */
  private async walk (): Promise<number> {
    if (!this.wantsMore()) return 0
    if (this.libp2p.getConnections().length === 0) {
      // alone (a failed or lost bootstrap dial): try the bootstrap peers again
      await Promise.allSettled(this.opts.bootstrap.map(async a => await this.libp2p.dial(multiaddr(a), { signal: AbortSignal.timeout(this.opts.dialTimeoutMs) })))
      return -1
    }
    let dialled = 0
    let answers = 0
    const closest: PeerId[] = []
    try {
      for await (const ev of this.libp2p.services.dht.getClosestPeers(this.libp2p.peerId.toMultihash().bytes, { signal: AbortSignal.timeout(5000) })) {
        if (ev.name === 'PEER_RESPONSE') { answers++; for (const p of ev.closer) if (this.maybeDial(p.id)) dialled++ } else if (ev.name === 'FINAL_PEER') {
          closest.push(ev.peer.id)
          if (this.maybeDial(ev.peer.id)) dialled++
        }
      }
    } catch (err) {
      this.opts.log.debug({ err: (err as Error).message, answers }, 'discovery walk failed')
      return walkOutcome({ dialled, answers, failed: true })
    }
    this.opts.onWalk?.(closest)
    return walkOutcome({ dialled, answers, failed: false })
  }
}
