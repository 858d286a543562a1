/**
 * Hardware adverts on the wire: probes this machine at start and publishes the node's signed record on gossip, on
 * change and periodically; keeps the verified records of peers; answers `/meshnode/hardware/1.0.0` (one
 * length-prefixed signed record) and asks each newly identified peer for its record, so a joining node learns the
 * mesh's hardware within a round trip; measures bandwidth to a peer on request over `/meshnode/bandwidth/1.0.0`;
 * and, once the node is up, measures its own training backend and speed.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { IdentifyResult, Libp2p, PrivateKey, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import type { Clock } from '../../common/clock.js'
import { MeshError } from '../../common/errors.js'
import type { EventSink } from '../../common/events.js'
import type { Logger } from '../../common/logger.js'
import type { Service } from '../../common/service.js'
import { signRecord } from '../../protocols/envelope.js'
import type { GossipProcessor } from '../../protocols/gossip.js'
import { ReplayGuard, SeqSource } from '../../protocols/replay.js'
import type { NodeOwnEvents } from '../events.js'
import { checkProbeSize, downloadProbe, serveProbe, type BandwidthResult } from './bandwidth.js'
import { HardwareError } from './errors.js'
import {
  BANDWIDTH_PROTOCOL, HARDWARE_DOMAIN, HARDWARE_PROTOCOL, HARDWARE_RECORD_VERSION, HARDWARE_TOPIC, MAX_HARDWARE_RECORD_BYTES,
  openHardwareRecord, validateHardwareGossip, type HardwareRecord, type PeerHardware
} from './record.js'

/** Serializable options of the hardware service. */
export interface HardwareInit {
  advertiseIntervalMs: number
  recordMaxAgeMs: number
  recordMaxSkewMs: number
  /** Per-exchange timeout of a record request (default 5 s). */
  requestTimeoutMs?: number
  /** Per-probe timeout of a bandwidth measurement (default 60 s). */
  bandwidthTimeoutMs?: number
  /** Wait before trying a failed backend measurement again (default 30 s; see `measure`). */
  measureRetryMs?: number
}

/**
 * Tries of the backend measurement. Its child runs at a low priority under a 60 s limit, so on a machine busy with
 * many starting nodes it can run out of time; the record would then say `pending` for good.
 */
const MEASURE_TRIES = 3

/** The slice of libp2p the hardware service uses. */
export type HardwareLibp2p = Pick<Libp2p, 'peerId' | 'handle' | 'unhandle' | 'dialProtocol' | 'addEventListener' | 'removeEventListener'>

/** What the backend measurement adds to the probed record. */
export type MeasuredBackend = Pick<HardwareRecord, 'tfjs' | 'bench'>

/** `meshnode_hardware_*` metrics (from the node's registry). */
export interface HardwareMetrics {
  /** Verified records held from other peers. */
  peerRecords: { set: (value: number) => void }
}

/** The hardware service's dependencies. */
export interface HardwareComponents {
  libp2p: HardwareLibp2p
  privateKey: PrivateKey
  gossip: Pick<GossipProcessor, 'register' | 'publish'>
  events: EventSink<Pick<NodeOwnEvents, 'hardware.record' | 'hardware.measured'>>
  logger: Logger
  clock: Clock
  /** The machine's static facts (CPU, RAM, GPUs, board, OS); read once at start. */
  probe: () => Promise<HardwareRecord>
  /** The training backend and its measured speed; slow, so run by `measure()` once the node is up. */
  measureBackend?: () => Promise<MeasuredBackend>
  metrics?: HardwareMetrics
}

const DEFAULT_REQUEST_TIMEOUT_MS = 5000
const DEFAULT_BANDWIDTH_TIMEOUT_MS = 60_000

/** The node's hardware service: its own record, its peers' records and bandwidth probes. */
export class HardwareService implements Service {
  private record?: HardwareRecord
  private signed?: Uint8Array
  private readonly records = new Map<string, PeerHardware>()
  private readonly seq: SeqSource
  private readonly guard: ReplayGuard
  private timer?: NodeJS.Timeout
  private started = false
  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    if (!evt.detail.protocols.includes(HARDWARE_PROTOCOL)) return
    this.fetchFrom(evt.detail.peerId.toString()).catch(err => {
      this.c.logger.debug({ peer: evt.detail.peerId.toString(), err: (err as Error).message }, 'hardware request failed')
    })
  }

  constructor (private readonly c: HardwareComponents, private readonly init: HardwareInit) {
    this.seq = new SeqSource(c.clock)
    this.guard = new ReplayGuard(c.clock, { maxAgeMs: init.recordMaxAgeMs, maxSkewMs: init.recordMaxSkewMs })
  }

  /** Register the protocols and the gossip topic, probe the machine and advertise the record. */
  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.c.gossip.register({
      topic: HARDWARE_TOPIC,
      validate: async (data, ctx) => await validateHardwareGossip(data, ctx.propagationSource, this.guard),
      deliver: rec => { this.accept(rec.signer, rec.seq, rec.payload) }
    })
    await this.c.libp2p.handle(HARDWARE_PROTOCOL, (stream) => { void this.serveRecord(stream) }, { maxInboundStreams: 32 })
    await this.c.libp2p.handle(BANDWIDTH_PROTOCOL, (stream) => { void serveProbe(stream) }, { maxInboundStreams: 4 })
    this.c.libp2p.addEventListener('peer:identify', this.onIdentify)
    this.timer = setInterval(() => { void this.publish() }, this.init.advertiseIntervalMs)
    this.timer.unref()
    try {
      await this.setLocal(await this.c.probe())
    } catch (err) {
      // a service that failed to start is not stopped by the node: undo the registrations here
      await this.stop()
      throw err
    }
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    clearInterval(this.timer)
    this.c.libp2p.removeEventListener('peer:identify', this.onIdentify)
    await this.c.libp2p.unhandle([HARDWARE_PROTOCOL, BANDWIDTH_PROTOCOL]).catch(() => {})
  }

  /**
   * Measure the training backend (in a child process: the daemon loads TensorFlow.js only when it trains) and
   * advertise the result. Never throws: a failed probe leaves the record without a benchmark.
   */
  async measure (): Promise<void> {
    if (this.c.measureBackend == null) return
    const retryMs = this.init.measureRetryMs ?? 30_000
    for (let attempt = 1; attempt <= MEASURE_TRIES; attempt++) {
      try {
        const measured = await this.c.measureBackend()
        const base = this.record
        if (!this.started || base == null) return
        await this.setLocal({ ...base, ...measured })
        this.c.events.emit('hardware.measured', { backend: measured.tfjs.backend, samplesPerSec: measured.bench?.samplesPerSec ?? null })
        this.c.logger.info({ backend: measured.tfjs.backend, samplesPerSec: measured.bench?.samplesPerSec }, 'training speed measured')
        return
      } catch (err) {
        const last = attempt === MEASURE_TRIES
        this.c.logger.warn({ err: (err as Error).message, attempt }, last ? 'training backend probe failed; advertising without a benchmark' : `training backend probe failed; trying again in ${retryMs} ms`)
        if (last || !this.started) return
        await sleep(retryMs, undefined, { ref: false })
        if (!this.started) return
      }
    }
  }

  /** Set (or update) our own record: re-sign it and advertise it. */
  async setLocal (record: HardwareRecord): Promise<void> {
    this.record = record
    this.signed = await this.sign(record)
    await this.publish()
  }

  /** Our own current record. */
  local (): HardwareRecord | undefined {
    return this.record
  }

  /** Verified records of other peers, one per peer (the newest), sorted by peer id. */
  peers (): PeerHardware[] {
    return [...this.records.values()].sort((a, b) => a.peerId.localeCompare(b.peerId))
  }

  /** A peer's verified record, if one arrived. */
  get (peerId: string): PeerHardware | undefined {
    return this.records.get(peerId)
  }

  /** Ask a connected peer for its record over the stream protocol, verify it and keep it. */
  async fetchFrom (peerId: string, signal?: AbortSignal): Promise<PeerHardware | undefined> {
    const sig = signal ?? AbortSignal.timeout(this.init.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS)
    const stream = await this.c.libp2p.dialProtocol(peerIdFromString(peerId), HARDWARE_PROTOCOL, { signal: sig })
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_HARDWARE_RECORD_BYTES })
      const bytes = (await lp.read({ signal: sig })).subarray()
      const rec = await openHardwareRecord(bytes)
      if (rec.signer !== peerId) throw new HardwareError('ERR_SIGNER', 'peer answered with a record signed by another peer')
      this.accept(rec.signer, rec.seq, rec.payload)
      return this.records.get(peerId)
    } finally {
      await stream.close().catch(() => { stream.abort(new Error('close failed')) })
    }
  }

  /** Download `bytes` from a peer and time it; a peer we cannot reach or that breaks off is ERR_PEER_UNREACHABLE. */
  async measureBandwidth (peerId: string, bytes: number, signal?: AbortSignal): Promise<BandwidthResult> {
    checkProbeSize(bytes)
    const sig = signal ?? AbortSignal.timeout(this.init.bandwidthTimeoutMs ?? DEFAULT_BANDWIDTH_TIMEOUT_MS)
    try {
      const stream = await this.c.libp2p.dialProtocol(peerIdFromString(peerId), BANDWIDTH_PROTOCOL, { signal: sig })
      try {
        return await downloadProbe(stream, peerId, bytes, sig)
      } finally {
        await stream.close().catch(() => { stream.abort(new Error('close failed')) })
      }
    } catch (err) {
      if (err instanceof MeshError) throw err
      throw new HardwareError('ERR_PEER_UNREACHABLE', `cannot measure bandwidth to ${peerId}: ${(err as Error).message}`, { cause: err })
    }
  }

  private async sign (record: HardwareRecord): Promise<Uint8Array> {
    return await signRecord(this.c.privateKey, HARDWARE_DOMAIN, HARDWARE_RECORD_VERSION, this.seq.next(), record)
  }

  private async publish (): Promise<void> {
    if (this.signed == null || !this.started) return
    try {
      await this.c.gossip.publish(HARDWARE_TOPIC, this.signed)
      // a fresh seq for the next periodic publish, so it is not a duplicate gossip message
      if (this.record != null) this.signed = await this.sign(this.record)
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
    this.c.metrics?.peerRecords.set(this.records.size)
    if (prev == null) this.c.events.emit('hardware.record', { peerId })
  }

  private async serveRecord (stream: Stream): Promise<void> {
    try {
      if (this.signed == null) { stream.abort(new Error('no record yet')); return }
      const lp = lpStream(stream)
      await lp.write(this.signed, { signal: AbortSignal.timeout(this.init.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS) })
      await stream.close()
    } catch (err) {
      stream.abort(err as Error)
    }
  }
}

/** The hardware service factory: `hardware(init)(components)`. */
export function hardware (init: HardwareInit): (components: HardwareComponents) => HardwareService {
  return components => new HardwareService(components, init)
}
