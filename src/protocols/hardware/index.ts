/**
 * Hardware adverts on the wire: publishes the node's signed record on gossip at start, on change and periodically;
 * keeps the verified records of peers; answers `/meshnode/hardware/1.0.0` (one length-prefixed signed record) and
 * asks each newly identified peer for its record, so a joining node learns the mesh's hardware within a round trip;
 * and measures bandwidth to a peer on request over `/meshnode/bandwidth/1.0.0`.
 */
import type { Libp2p, PeerId, Stream, Connection, PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream, byteStream } from '@libp2p/utils'
import { encode, decode } from 'cborg'
import type { Clock } from '../../common/clock.js'
import type { EventBus } from '../../common/events.js'
import type { Logger } from '../../common/logger.js'
import { MeshError } from '../../common/errors.js'
import { signRecord } from '../envelope.js'
import { ReplayGuard, SeqSource } from '../replay.js'
import type { GossipProcessor } from '../gossip.js'
import { DOMAINS, PROTOCOLS, TOPICS } from '../topics.js'
import { openHardwareRecord, validateHardwareGossip } from '../validate/hardware.js'
import { HARDWARE_RECORD_VERSION, MAX_HARDWARE_RECORD_BYTES, type HardwareRecord, type PeerHardware } from './record.js'

export * from './record.js'

/** Largest bandwidth probe a peer will serve, so the protocol cannot be used to make us send unbounded data. */
export const MAX_BANDWIDTH_PROBE_BYTES = 64 * 1024 * 1024
const CHUNK = 64 * 1024

export interface HardwareServiceInit {
  advertiseIntervalMs: number
  recordMaxAgeMs: number
  recordMaxSkewMs: number
  requestTimeoutMs?: number
}

export interface HardwareServiceComponents {
  libp2p: Libp2p
  privateKey: PrivateKey
  gossip: GossipProcessor
  events: EventBus
  logger: Logger
  clock: Clock
  /** Called whenever the set of known peer records changes (metrics). */
  onRecordsChanged?: (count: number) => void
}

export interface BandwidthResult {
  peerId: string
  bytes: number
  durationMs: number
  mbps: number
}

export class HardwareService {
  private record?: HardwareRecord
  private signed?: Uint8Array
  private readonly records = new Map<string, PeerHardware>()
  private readonly seq: SeqSource
  private readonly guard: ReplayGuard
  private timer?: NodeJS.Timeout
  private started = false
  private readonly onIdentify = (evt: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void => {
    if (!evt.detail.protocols.includes(PROTOCOLS.hardware)) return
    this.fetchFrom(evt.detail.peerId.toString()).catch(err => {
      this.c.logger.debug({ peer: evt.detail.peerId.toString(), err: (err as Error).message }, 'hardware request failed')
    })
  }

  constructor (private readonly c: HardwareServiceComponents, private readonly init: HardwareServiceInit) {
    this.seq = new SeqSource(c.clock)
    this.guard = new ReplayGuard(c.clock, { maxAgeMs: init.recordMaxAgeMs, maxSkewMs: init.recordMaxSkewMs })
  }

  /** Register protocols and the gossip topic; publish once `setLocal` has given a record. */
  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.c.gossip.register({
      topic: TOPICS.hardware,
      validate: async (data, ctx) => await validateHardwareGossip(data, ctx.origin, this.guard),
      deliver: rec => { this.accept(rec.signer, rec.seq, rec.payload) }
    })
    await this.c.libp2p.handle(PROTOCOLS.hardware, (stream, conn) => { void this.serveRecord(stream, conn) }, { maxInboundStreams: 32 })
    await this.c.libp2p.handle(PROTOCOLS.bandwidth, (stream) => { void this.serveBandwidth(stream) }, { maxInboundStreams: 4 })
    this.c.libp2p.addEventListener('peer:identify', this.onIdentify as any)
    this.timer = setInterval(() => { void this.publish() }, this.init.advertiseIntervalMs)
    this.timer.unref()
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    clearInterval(this.timer)
    this.c.libp2p.removeEventListener('peer:identify', this.onIdentify as any)
    await this.c.libp2p.unhandle([PROTOCOLS.hardware, PROTOCOLS.bandwidth]).catch(() => {})
  }

  /** Set (or update) our own record: re-sign it and advertise it. */
  async setLocal (record: HardwareRecord): Promise<void> {
    this.record = record
    this.signed = await signRecord(this.c.privateKey, DOMAINS.hardware, HARDWARE_RECORD_VERSION, this.seq.next(), record)
    await this.publish()
  }

  /** Our own current record. */
  local (): HardwareRecord | undefined {
    return this.record
  }

  /** Verified records of other peers, newest first per peer. */
  peers (): PeerHardware[] {
    return [...this.records.values()].sort((a, b) => a.peerId.localeCompare(b.peerId))
  }

  get (peerId: string): PeerHardware | undefined {
    return this.records.get(peerId)
  }

  /** Ask a connected peer for its record over the stream protocol, verify it and keep it. */
  async fetchFrom (peerId: string, signal?: AbortSignal): Promise<PeerHardware> {
    const sig = signal ?? AbortSignal.timeout(this.init.requestTimeoutMs ?? 5000)
    const stream = await this.c.libp2p.dialProtocol(peerIdFromString(peerId), PROTOCOLS.hardware, { signal: sig })
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_HARDWARE_RECORD_BYTES })
      const bytes = (await lp.read({ signal: sig })).subarray()
      const rec = await openHardwareRecord(bytes)
      if (rec.signer !== peerId) throw new MeshError('ERR_SIGNER', 'peer answered with a record signed by another peer')
      this.accept(rec.signer, rec.seq, rec.payload)
      return this.records.get(peerId) as PeerHardware
    } finally {
      await stream.close().catch(() => stream.abort(new Error('close failed')))
    }
  }

  /** Download `bytes` from a peer and time it. */
  async measureBandwidth (peerId: string, bytes: number, signal?: AbortSignal): Promise<BandwidthResult> {
    if (!Number.isInteger(bytes) || bytes < 1 || bytes > MAX_BANDWIDTH_PROBE_BYTES) {
      throw new MeshError('ERR_BANDWIDTH_SIZE', `bytes must be an integer from 1 to ${MAX_BANDWIDTH_PROBE_BYTES}`, { kind: 'invalid' })
    }
    const sig = signal ?? AbortSignal.timeout(60_000)
    const stream = await this.c.libp2p.dialProtocol(peerIdFromString(peerId), PROTOCOLS.bandwidth, { signal: sig })
    try {
      const t0 = performance.now()
      const lp = lpStream(stream, { maxDataLength: 64 })
      await lp.write(encode({ bytes }), { signal: sig })
      const bs = lp.unwrap()
      let got = 0
      const reader = byteStream(bs, { maxBufferSize: 4 * CHUNK })
      while (got < bytes) {
        const chunk = await reader.read({ signal: sig })
        if (chunk == null) break
        got += chunk.byteLength
      }
      const durationMs = performance.now() - t0
      if (got !== bytes) throw new MeshError('ERR_BANDWIDTH_SHORT', `peer sent ${got} of ${bytes} bytes`, { kind: 'invalid' })
      return { peerId, bytes, durationMs, mbps: (bytes * 8) / (durationMs / 1000) / 1e6 }
    } finally {
      await stream.close().catch(() => stream.abort(new Error('close failed')))
    }
  }

  private async publish (): Promise<void> {
    if (this.signed == null || !this.started) return
    try {
      await this.c.gossip.publish(TOPICS.hardware, this.signed)
      // a fresh seq for the next periodic publish, so it is not a duplicate gossip message
      if (this.record != null) this.signed = await signRecord(this.c.privateKey, DOMAINS.hardware, HARDWARE_RECORD_VERSION, this.seq.next(), this.record)
    } catch (err) {
      this.c.logger.debug({ err: (err as Error).message }, 'hardware publish failed')
    }
  }

  /** Keep a verified record if it is newer than what we hold. */
  private accept (peerId: string, seq: number, record: HardwareRecord): void {
    if (peerId === this.c.libp2p.peerId.toString()) return
    const prev = this.records.get(peerId)
    if (prev != null && prev.seq >= seq) return
    this.records.set(peerId, { peerId, seq, receivedAt: this.c.clock.now(), record })
    this.c.onRecordsChanged?.(this.records.size)
    if (prev == null) this.c.events.emit('hardware.record', { peerId })
  }

  private async serveRecord (stream: Stream, _conn: Connection): Promise<void> {
    try {
      if (this.signed == null) { stream.abort(new Error('no record yet')); return }
      const lp = lpStream(stream)
      await lp.write(this.signed, { signal: AbortSignal.timeout(this.init.requestTimeoutMs ?? 5000) })
      await stream.close()
    } catch (err) {
      stream.abort(err as Error)
    }
  }

  private async serveBandwidth (stream: Stream): Promise<void> {
    const signal = AbortSignal.timeout(120_000)
    try {
      const lp = lpStream(stream, { maxDataLength: 64 })
      const req = decode((await lp.read({ signal })).subarray()) as { bytes?: unknown }
      const n = req?.bytes
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_BANDWIDTH_PROBE_BYTES) { stream.abort(new Error('bad bandwidth request')); return }
      const bs = byteStream(lp.unwrap())
      const chunk = new Uint8Array(CHUNK)
      for (let sent = 0; sent < n; sent += CHUNK) await bs.write(chunk.subarray(0, Math.min(CHUNK, n - sent)), { signal })
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err as Error)
    }
  }
}
