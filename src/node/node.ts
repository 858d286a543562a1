/**
 * The composition root: open storage, load the identity, build libp2p, start the services, serve the admin API;
 * close everything in reverse order. Nothing else in the codebase wires subsystems together.
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { EventBus } from '../common/events.js'
import { systemClock } from '../common/clock.js'
import type { Logger } from '../common/logger.js'
import { GossipProcessor } from '../protocols/gossip.js'
import { HardwareService, hardwareSummary } from '../protocols/hardware/index.js'
import type { NodeOptions } from './options.js'
import { FILES, loadIdentity, readAdminToken, writeFileAtomic } from './identity.js'
import { createMeshLibp2p, type MeshLibp2p } from './libp2p.js'
import { PeerCacheDatastore } from './peer-cache-datastore.js'
import { MeshDiscovery } from './discovery.js'
import { createNodeMetrics, type NodeMetrics } from './metrics.js'
import { probeHardware } from './hardware/probe.js'
import { startApiServer, type ApiServer, type ApiPlugin } from './api/server.js'
import { nodeRoutes } from './api/routes/node.js'
import { hardwareRoutes } from './api/routes/hardware.js'
import { observabilityRoutes } from './api/routes/observability.js'
import { VERSION } from './version.js'
import { openStorage, startHelia, artifactStore, createStorageMetrics, type Storage, type MeshHelia, type ArtifactStore } from '../storage/index.js'
import { TrainingService, createTrainingMetrics } from '../training/index.js'
import { PenaltyBook } from '../protocols/penalties.js'
import { artifactRoutes } from './api/routes/artifacts.js'
import { trainingRoutes } from './api/routes/training.js'
import { runBenchmarkChild } from '../training/model/benchmark-child.js'

export interface NodeCreateInit {
  options: Readonly<NodeOptions>
  logger: Logger
  env?: NodeJS.ProcessEnv
}

interface PeerSeen { latencyMs: number | null, lastSeen: number }

const PING_INTERVAL_MS = 15_000

/** A running meshnode: every subsystem, started; `close()` stops them in reverse order. */
export class MeshNode {
  readonly startedAt = Date.now()
  readonly events = new EventBus()
  private readonly closers: Array<{ name: string, close: () => Promise<void> | void }> = []
  private readonly seen = new Map<string, PeerSeen>()
  private closing?: Promise<void>
  libp2p!: MeshLibp2p
  hardware!: HardwareService
  api!: ApiServer
  gossip!: GossipProcessor
  storage!: Storage
  helia!: MeshHelia
  artifacts!: ArtifactStore
  training!: TrainingService
  metrics: NodeMetrics
  readonly penalties = new PenaltyBook(systemClock)

  private constructor (readonly options: Readonly<NodeOptions>, readonly log: Logger, private readonly privateKey: PrivateKey) {
    this.metrics = createNodeMetrics()
  }

  /** Start a node from validated options. On failure, whatever was started is closed again. */
  static async create (init: NodeCreateInit): Promise<MeshNode> {
    const privateKey = await loadIdentity(init.options.dataDir, init.env)
    const node = new MeshNode(init.options, init.logger, privateKey)
    try {
      await node.start()
    } catch (err) {
      await node.close()
      throw err
    }
    return node
  }

  get peerId (): string { return this.libp2p.peerId.toString() }

  private defer (name: string, close: () => Promise<void> | void): void {
    this.closers.push({ name, close })
  }

  private async start (): Promise<void> {
    const o = this.options
    const log = this.log
    this.storage = await openStorage({ dataDir: o.dataDir, quotaBytes: o.storage.quotaBytes })
    this.defer('storage', async () => { await this.storage.close() })
    this.libp2p = await createMeshLibp2p({
      privateKey: this.privateKey,
      datastore: new PeerCacheDatastore(this.storage.datastore),
      appSpecificScore: id => this.penalties.score(id),
      listen: o.listen,
      announce: o.announce,
      bootstrap: o.bootstrap,
      mdns: o.mdns,
      maxConnections: o.connections.maxConnections,
      dialTimeoutMs: o.connections.dialTimeoutMs,
      ipColocationThreshold: o.gossip.ipColocationThreshold,
      maxMessageBytes: o.gossip.maxMessageBytes,
      registry: this.metrics.registry
    })
    this.defer('libp2p', async () => { await this.libp2p.stop() })
    this.trackPeers()

    this.gossip = new GossipProcessor(this.libp2p.services.pubsub, log.child({ module: 'gossip' }), { validation: this.metrics.gossipValidation })
    this.defer('gossip', () => { this.gossip.stop() })

    this.helia = await startHelia({ libp2p: this.libp2p, storage: this.storage, publicIpfs: o.storage.publicIpfs })
    this.defer('helia', async () => { await this.helia.stop() })
    this.artifacts = artifactStore({
      fetchTimeoutMs: o.storage.fetchTimeoutMs,
      maxArtifactBytes: o.storage.maxArtifactBytes,
      recordMaxAgeMs: o.gossip.recordMaxAgeMs,
      recordMaxSkewMs: o.gossip.recordMaxSkewMs
    })({ helia: this.helia, storage: this.storage, privateKey: this.privateKey, gossip: this.gossip, events: this.events, logger: log.child({ module: 'storage' }), clock: systemClock, metrics: createStorageMetrics(this.metrics.registry) })
    await this.artifacts.start()
    this.defer('artifacts', async () => { await this.artifacts.stop() })

    this.hardware = new HardwareService({
      libp2p: this.libp2p,
      privateKey: this.privateKey,
      gossip: this.gossip,
      events: this.events,
      logger: log.child({ module: 'hardware' }),
      clock: systemClock,
      onRecordsChanged: n => { this.metrics.hardwareRecords.set(n) }
    }, { advertiseIntervalMs: o.hardware.advertiseIntervalMs, recordMaxAgeMs: o.gossip.recordMaxAgeMs, recordMaxSkewMs: o.gossip.recordMaxSkewMs })
    await this.hardware.start()
    this.defer('hardware', async () => { await this.hardware.stop() })
    const record = await probeHardware({ agent: `meshnode/${VERSION}`, profile: o.profile, resources: o.resources })
    await this.hardware.setLocal(record)

    this.training = new TrainingService({
      peerId: this.libp2p.peerId.toString(),
      privateKey: this.privateKey,
      gossip: this.gossip,
      artifacts: this.artifacts,
      state: this.storage.state,
      events: this.events,
      logger: log.child({ module: 'training' }),
      clock: systemClock,
      penalties: this.penalties,
      metrics: createTrainingMetrics(this.metrics.registry),
      trainingSpeed: () => this.hardware.local()?.bench?.samplesPerSec
    }, {
      dataDir: o.dataDir,
      fetchTimeoutMs: o.storage.fetchTimeoutMs,
      announceIntervalMs: o.training.announceIntervalMs,
      recordMaxAgeMs: o.gossip.recordMaxAgeMs,
      recordMaxSkewMs: o.gossip.recordMaxSkewMs,
      resources: o.resources,
      adversary: o.training.adversary === 'none' ? undefined : { kind: o.training.adversary, scale: o.training.adversaryScale }
    })
    await this.training.start()
    this.defer('training', async () => { await this.training.stop() })

    await this.startApi(this.apiPlugins())
    log.info({ peerId: this.peerId, addresses: this.addresses(), api: this.api.url }, 'meshnode started')
    // measured after we listen: the benchmark takes a second or two and must not delay start-up
    void this.measureTraining(record)
  }

  /** Every route module the API serves; subsystems add theirs here. */
  private apiPlugins (): ApiPlugin[] {
    return [
      nodeRoutes({ info: () => this.info(), peers: async () => this.peers() }),
      hardwareRoutes({ hardware: this.hardware }),
      artifactRoutes({ artifacts: this.artifacts, fetchTimeoutMs: this.options.storage.fetchTimeoutMs }),
      trainingRoutes({ training: this.training }),
      observabilityRoutes({ registry: this.metrics.registry, events: this.events })
    ]
  }

  private async startApi (plugins: ApiPlugin[]): Promise<void> {
    const o = this.options
    this.api = await startApiServer({
      host: o.api.host,
      port: o.api.port,
      token: await readAdminToken(o.dataDir),
      allowedHosts: o.api.allowedHosts,
      bodyLimitBytes: o.api.bodyLimitBytes,
      version: VERSION,
      logger: this.log.child({ module: 'api' }),
      onResponse: (route, status) => { this.metrics.apiRequests.inc({ route, status: `${Math.floor(status / 100)}xx` }) }
    }, plugins)
    this.defer('api', async () => {
      await rm(join(o.dataDir, FILES.apiUrl), { force: true })
      await this.api.close()
    })
    await writeFileAtomic(join(o.dataDir, FILES.apiUrl), this.api.url + '\n', 0o644)
  }

  private async measureTraining (base: Awaited<ReturnType<typeof probeHardware>>): Promise<void> {
    const o = this.options
    try {
      // in a child process: the daemon itself loads TensorFlow.js only when it trains
      const { backend, bench } = await runBenchmarkChild({ threads: o.resources.trainingThreads, durationMs: o.hardware.benchmark ? o.hardware.benchmarkMs : 0 })
      if (this.closing != null) return
      await this.hardware.setLocal({ ...base, tfjs: { backend: backend.name, version: backend.version }, bench })
      this.events.emit('hardware.measured', { backend: backend.name, samplesPerSec: bench?.samplesPerSec ?? null })
      this.log.info({ backend: backend.name, samplesPerSec: bench?.samplesPerSec }, 'training speed measured')
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'training backend probe failed; advertising without a benchmark')
    }
  }

  /** Keep last-seen times and ping latency per connected peer; emit connect/disconnect events. */
  private trackPeers (): void {
    const touch = (id: string, latencyMs?: number): void => {
      const prev = this.seen.get(id)
      this.seen.set(id, { latencyMs: latencyMs ?? prev?.latencyMs ?? null, lastSeen: Date.now() })
    }
    const ping = (id: string): void => {
      this.libp2p.services.ping.ping(peerIdFromString(id), { signal: AbortSignal.timeout(5000) })
        .then(ms => { touch(id, ms) })
        .catch(() => {})
    }
    this.libp2p.addEventListener('peer:connect', evt => {
      const id = evt.detail.toString()
      touch(id)
      this.metrics.peers.set(this.libp2p.getPeers().length)
      this.events.emit('peer.connected', { peerId: id })
      this.log.debug({ peer: id }, 'peer connected')
      ping(id)
    })
    this.libp2p.addEventListener('peer:disconnect', evt => {
      const id = evt.detail.toString()
      this.metrics.peers.set(this.libp2p.getPeers().length)
      this.events.emit('peer.disconnected', { peerId: id })
      this.log.debug({ peer: id }, 'peer disconnected')
    })
    const discovery = new MeshDiscovery(this.libp2p, { targetPeers: this.options.connections.targetPeers, dialTimeoutMs: this.options.connections.dialTimeoutMs, bootstrap: this.options.bootstrap, log: this.log.child({ module: 'discovery' }) })
    discovery.start()
    this.defer('discovery', () => { discovery.stop() })
    const timer = setInterval(() => { for (const p of this.libp2p.getPeers()) ping(p.toString()) }, PING_INTERVAL_MS)
    timer.unref()
    this.defer('peer-tracker', () => { clearInterval(timer) })
  }

  addresses (): string[] {
    return this.libp2p.getMultiaddrs().map(String)
  }

  info (): { peerId: string, addresses: string[], version: string, profile: string, network: string, uptimeSec: number, startedAt: string, peers: number } {
    return {
      peerId: this.peerId,
      addresses: this.addresses(),
      version: VERSION,
      profile: this.options.profile,
      network: this.options.network,
      uptimeSec: Math.round((Date.now() - this.startedAt) / 1000),
      startedAt: new Date(this.startedAt).toISOString(),
      peers: this.libp2p.getPeers().length
    }
  }

  peers (): Array<{ peerId: string, addresses: string[], latencyMs: number | null, lastSeen: string, hardware: string | null }> {
    return this.libp2p.getPeers().map(p => {
      const id = p.toString()
      const seen = this.seen.get(id)
      const hw = this.hardware.get(id)
      return {
        peerId: id,
        addresses: this.libp2p.getConnections(p).map(c => c.remoteAddr.toString()),
        latencyMs: seen?.latencyMs ?? null,
        lastSeen: new Date(seen?.lastSeen ?? Date.now()).toISOString(),
        hardware: hw != null ? hardwareSummary(hw.record) : null
      }
    }).sort((a, b) => a.peerId.localeCompare(b.peerId))
  }

  /** Stop everything in reverse order of start. Idempotent; each step's failure is logged and the rest still run. */
  async close (): Promise<void> {
    this.closing ??= (async () => {
      for (const { name, close } of this.closers.reverse()) {
        try {
          await close()
        } catch (err) {
          this.log.warn({ err: (err as Error).message, step: name }, 'error while closing')
        }
      }
      this.log.info('meshnode stopped')
    })()
    await this.closing
  }
}
