/**
 * Connection liveness, in place of libp2p's connection monitor: every LIVENESS_INTERVAL_MS each connection gets a
 * yamux ping frame (12 bytes each way, answered by the remote's muxer as every yamux implementation does). A ping
 * unanswered within LIVENESS_TIMEOUT_MS aborts the connection, a silently dead peer's (a closed or reset socket is
 * seen at once anyway); an answered one sets `Connection.rtt`, the latency the peer tracker shows.
 *
 * Why not the connection monitor: its ping is a new `/ipfs/ping/1.0.0` stream per connection (stream open,
 * multistream-select, 32 bytes each way, two closes) and libp2p merges the stream's protocol into the peer store at
 * both ends (decode and re-encode the peer's record). In a 20-node mesh at rest those pings and merges were a quarter
 * of each node's CPU (bench/soak.ts, profiled), more than any other idle work.
 *
 * The muxer is a public field of libp2p's Connection class, not of its interface: `muxerPing` returns undefined when
 * a release moves it (test/integration/node/liveness.test.ts then fails), and such a connection is left unpinged.
 */
import type { AbortOptions, Connection, Logger } from '@libp2p/interface'

/** How often each connection is pinged. */
export const LIVENESS_INTERVAL_MS = 60_000
/**
 * How long a ping may go unanswered before its connection is aborted: longer than the event-loop stalls of a loaded
 * machine (20 nodes on 2 cores stalled past 5 s, and a 5 s timeout dropped hundreds of live connections), shorter
 * than the interval, so one ping never overlaps the next.
 */
export const LIVENESS_TIMEOUT_MS = 20_000

/** A connection's muxer ping (the round trip in ms), if its muxer has one. */
export function muxerPing (conn: Connection): ((options?: AbortOptions) => Promise<number>) | undefined {
  const muxer: unknown = Reflect.get(conn, 'muxer')
  if (typeof muxer !== 'object' || muxer == null) return undefined
  const ping: unknown = Reflect.get(muxer, 'ping')
  if (typeof ping !== 'function') return undefined
  return async options => Number(await Reflect.apply(ping, muxer, [options]))
}

/** What the liveness service reads of libp2p's components. */
export interface LivenessComponents {
  connectionManager: { getConnections: () => Connection[] }
  logger: { forComponent: (name: string) => Logger }
}

/** Timing of the liveness service (tests shorten both). */
export interface LivenessInit {
  intervalMs?: number
  timeoutMs?: number
}

/** The liveness service (a libp2p service: libp2p starts and stops it with the node). */
export class ConnectionLiveness {
  private timer?: NodeJS.Timeout
  /** Aborted at stop, so pings in flight end without aborting their connections; a new one at each start. */
  private controller = new AbortController()
  private readonly log: Logger
  private readonly intervalMs: number
  private readonly timeoutMs: number

  constructor (private readonly components: LivenessComponents, init: LivenessInit = {}) {
    this.log = components.logger.forComponent('meshnode:liveness')
    this.intervalMs = init.intervalMs ?? LIVENESS_INTERVAL_MS
    this.timeoutMs = init.timeoutMs ?? LIVENESS_TIMEOUT_MS
  }

  readonly [Symbol.toStringTag] = 'meshnode/liveness'

  start (): void {
    this.controller = new AbortController()
    this.timer = setInterval(() => { void this.pingAll() }, this.intervalMs)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
    this.controller.abort()
  }

  /** Ping every open connection once; abort those that do not answer in time. */
  async pingAll (): Promise<void> {
    await Promise.all(this.components.connectionManager.getConnections().map(async conn => { await this.check(conn) }))
  }

  private async check (conn: Connection): Promise<void> {
    const ping = muxerPing(conn)
    if (ping == null || conn.status !== 'open') return
    const stopped = this.controller.signal
    try {
      conn.rtt = await ping({ signal: AbortSignal.any([stopped, AbortSignal.timeout(this.timeoutMs)]) })
    } catch (err) {
      if (stopped.aborted || conn.status !== 'open') return
      this.log('no answer to a ping from %p within %d ms: aborting its connection', conn.remotePeer, this.timeoutMs)
      conn.abort(new Error(`liveness: no answer to a ping within ${this.timeoutMs} ms`, { cause: err }))
    }
  }
}

/** The libp2p service factory: `services: { liveness: liveness() }`. */
export function liveness (init: LivenessInit = {}): (components: LivenessComponents) => ConnectionLiveness {
  return components => new ConnectionLiveness(components, init)
}
