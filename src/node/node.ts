/**
 * The composition root: open storage, load the identity, build libp2p and every service, start them in order and
 * stop them in reverse (one ServiceList). Nothing else in the codebase wires subsystems together.
 */
import type { ConnectionGater, PrivateKey } from '@libp2p/interface'
import type { Static } from '@sinclair/typebox'
import { EventBus } from '../common/events.js'
import { systemClock } from '../common/clock.js'
import type { Logger } from '../common/logger.js'
import { ServiceList } from '../common/service.js'
import { GossipProcessor } from '../protocols/gossip.js'
import { PenaltyBook } from '../protocols/penalties.js'
import { ARTIFACT_TOPIC, openStorage, startHelia, artifactStore, createStorageMetrics, parseCid, pinBlocks, type Storage, type MeshHelia, type ArtifactStore } from '../storage/index.js'
import { TRAINING_TOPIC, training, createTrainingMetrics, type TrainingService } from '../training/index.js'
import { CONSENSUS_TOPIC, consensus, createConsensusMetrics, type ConsensusService } from '../consensus/index.js'
// the ledger's light face: its heavy modules (ethers, contract bindings, the market) load after "listening"
import { ledgerStack, createLedgerMetrics, levelKv, createMarketMetrics, marketTopicsOf, type DeferredLedger, type DeferredMarket } from '../ledger/lazy.js'
import type { NodeOptions } from './options.js'
import type { NodeEvents } from './events.js'
import { loadIdentity, readPassphrase } from './identity.js'
import { createMeshLibp2p, dialBootstrap, type MeshLibp2p } from './libp2p.js'
import { PeerCacheDatastore } from './peer-cache-datastore.js'
import { MeshDiscovery } from './discovery.js'
import { createNodeMetrics, type NodeMetrics } from './metrics.js'
import { peerTracker, type PeerSummary, type PeerTracker } from './peers.js'
import { HARDWARE_TOPIC, hardware, measureTrainingBackend, probeHardware, type HardwareService } from './hardware/index.js'
import { adminApi, type AdminApi } from './api/service.js'
import { apiPlugins } from './api/plugins.js'
import type { NodeInfo as NodeInfoSchema } from './api/schemas.js'
import { VERSION } from './version.js'

/** What `MeshNode.create` needs: validated options, the root logger and (for the key passphrase) the environment. */
export interface NodeCreateInit {
  options: Readonly<NodeOptions>
  logger: Logger
  env?: NodeJS.ProcessEnv
  /** The identity, when the caller started loading it already (the CLI derives the key while modules load). */
  privateKey?: Promise<PrivateKey>
  /** Test-only: libp2p's connection gater (the in-process harness passes one to cut a mesh in two); see Libp2pInit. */
  connectionGater?: ConnectionGater
}

/** Every gossip topic the node's services use: each gets gossipsub's topic score parameters. */
export const MESH_TOPICS: readonly string[] = [HARDWARE_TOPIC, ARTIFACT_TOPIC, TRAINING_TOPIC, CONSENSUS_TOPIC]

/** `GET /v1/node`: its one schema is NodeInfo in api/schemas.ts. */
export type NodeInfo = Static<typeof NodeInfoSchema>

/** gossipsub's score of a peer: the class has `getScore`, its exported interface does not (checked, not cast). */
function gossipScoreOf (pubsub: MeshLibp2p['services']['pubsub']): ((peerId: string) => number) | undefined {
  if (!('getScore' in pubsub) || typeof pubsub.getScore !== 'function') return undefined
  const getScore = pubsub.getScore
  return (peerId) => Number(getScore.call(pubsub, peerId))
}

/** A running meshnode: every subsystem, started; `close()` stops them in reverse order. */
export class MeshNode {
  readonly startedAt = Date.now()
  readonly events = new EventBus<NodeEvents>()
  readonly metrics: NodeMetrics = createNodeMetrics()
  readonly penalties = new PenaltyBook(systemClock)
  private readonly services: ServiceList
  private closing?: Promise<void>
  storage!: Storage
  libp2p!: MeshLibp2p
  peerTracker!: PeerTracker
  gossip!: GossipProcessor
  helia!: MeshHelia
  artifacts!: ArtifactStore
  hardware!: HardwareService
  training!: TrainingService
  consensus!: ConsensusService
  /** The ledger and the market: stand-ins answering "starting" until the chain stack has loaded (after listening). */
  ledger!: DeferredLedger
  market!: DeferredMarket
  api!: AdminApi

  private constructor (readonly options: Readonly<NodeOptions>, readonly log: Logger, private readonly privateKey: PrivateKey, private readonly env?: NodeJS.ProcessEnv, private readonly connectionGater?: ConnectionGater) {
    this.services = new ServiceList((step, err) => { this.log.warn({ err: (err as Error).message, step }, 'error while closing') })
  }

  /** Start a node from validated options. On failure, whatever was started is closed again. */
  static async create (init: NodeCreateInit): Promise<MeshNode> {
    const privateKey = await (init.privateKey ?? loadIdentity(init.options.dataDir, init.env))
    const node = new MeshNode(init.options, init.logger, privateKey, init.env, init.connectionGater)
    try {
      await node.start()
    } catch (err) {
      await node.close()
      throw err
    }
    return node
  }

  get peerId (): string { return this.libp2p.peerId.toString() }

  /** Build and start every service in order; each one is stopped in reverse by `close()`. */
  private async start (): Promise<void> {
    const { options: o, log, services, privateKey, events } = this
    const clock = systemClock
    const records = { recordMaxAgeMs: o.gossip.recordMaxAgeMs, recordMaxSkewMs: o.gossip.recordMaxSkewMs }

    const storage = this.storage = await openStorage({ dataDir: o.dataDir, quotaBytes: o.storage.quotaBytes })
    services.add('storage', async () => { await storage.close() })
    // peer records are written behind (peer-cache-datastore.ts): flushed once libp2p has stopped, before Level closes
    const peerCache = new PeerCacheDatastore(storage.datastore)
    services.add('peer-cache', async () => { await peerCache.flush() })
    const libp2p = this.libp2p = await createMeshLibp2p({
      privateKey,
      datastore: peerCache,
      // penalties pull a peer's application score down; earned reputation adds a bounded bonus (0 until consensus runs)
      appSpecificScore: id => this.penalties.score(id) + (this.consensus?.reputationBonus(id) ?? 0),
      listen: o.listen,
      announce: o.announce,
      // no `bootstrap`: dialled once the node listens (below), not while it starts
      mdns: o.mdns,
      maxConnections: o.connections.maxConnections,
      dialTimeoutMs: o.connections.dialTimeoutMs,
      inboundPerIpPerSecond: o.connections.inboundPerIpPerSecond,
      unguardedRanges: o.connections.unguardedRanges,
      ipColocationThreshold: o.gossip.ipColocationThreshold,
      ipColocationExempt: o.gossip.ipColocationExempt,
      maxMessageBytes: o.gossip.maxMessageBytes,
      // the market's topics depend on its options (`compute`, `ftns-<quote>`): scored like the rest
      topics: [...MESH_TOPICS, ...marketTopicsOf({ ...o.market, network: o.network })],
      registry: this.metrics.registry,
      connectionGater: this.connectionGater
    })
    services.add('libp2p', async () => { await libp2p.stop() })

    const gossip = this.gossip = new GossipProcessor(libp2p.services.pubsub, log.child({ module: 'gossip' }), { validation: this.metrics.gossipValidation })
    services.add('gossip', () => { gossip.stop() })
    // built here for the peer tracker (it shows each peer's hardware), started once the artifact store runs
    const hw = this.hardware = hardware({ advertiseIntervalMs: o.hardware.advertiseIntervalMs, ...records })({
      libp2p,
      privateKey,
      gossip,
      events,
      logger: log.child({ module: 'hardware' }),
      clock,
      metrics: { peerRecords: this.metrics.hardwareRecords },
      probe: async () => await probeHardware({ agent: `meshnode/${VERSION}`, profile: o.profile, resources: o.resources }),
      measureBackend: async () => await measureTrainingBackend({ threads: o.resources.trainingThreads, durationMs: o.hardware.benchmark ? o.hardware.benchmarkMs : 0 })
    })

    // peers are tracked and discovered from the moment libp2p runs, so no connection or discovered peer goes unseen
    this.peerTracker = await services.start('peer-tracker', peerTracker()({
      libp2p, ping: libp2p.services.ping, hardware: hw, events, logger: log, clock, metrics: this.metrics, gossipScore: gossipScoreOf(libp2p.services.pubsub)
    }))
    await services.start('discovery', new MeshDiscovery(libp2p, {
      targetPeers: o.connections.targetPeers,
      dialTimeoutMs: o.connections.dialTimeoutMs,
      bootstrap: o.bootstrap,
      log: log.child({ module: 'discovery' }),
      // in a small mesh, a discovery walk finds every peer a provide batch would walk to: the batches reuse it (the
      // artifact store starts below; walks before it are not kept)
      onWalk: closest => { this.artifacts?.noteWalk(closest) }
    }))

    const helia = this.helia = await startHelia({ libp2p, storage, publicIpfs: o.storage.publicIpfs })
    services.add('helia', async () => { await helia.stop() })
    this.artifacts = await services.start('artifacts', artifactStore({
      fetchTimeoutMs: o.storage.fetchTimeoutMs, maxArtifactBytes: o.storage.maxArtifactBytes, provideBatchDelayMs: o.storage.provideBatchDelayMs, ...records
    })({ helia, storage, privateKey, gossip, events, logger: log.child({ module: 'storage' }), clock, metrics: createStorageMetrics(this.metrics.registry) }))
    await services.start('hardware', hw)

    this.consensus = await services.start('consensus', consensus({
      ...o.consensus, network: o.network, ...records
    })({
      peerId: libp2p.peerId.toString(),
      privateKey,
      libp2p,
      gossip,
      state: storage.state,
      events,
      logger: log.child({ module: 'consensus' }),
      clock,
      penalties: this.penalties,
      metrics: createConsensusMetrics(this.metrics.registry),
      // accepted proposals into Helia under their ids (CIDs); pinned before the put, so storage GC never drops them
      blocks: {
        put: async (cid, bytes) => { const c = parseCid(cid); await pinBlocks(storage.datastore, c, [c]); await helia.blockstore.put(c, bytes) },
        has: async cid => await helia.blockstore.has(parseCid(cid))
      }
    }))

    // the chain stack: the ledger (on `local` the embedded anvil, deployed and funded; never fatal, the API reports an
    // unreachable chain), one voucher book for training rewards and compute jobs, and the FTNS market (books from gossip
    // and sync, fills through the ledger's chain client). Loaded and started once the API listens (ledger/deferred.ts).
    const stack = ledgerStack({
      ledger: { ...o.ledger, dataDir: o.dataDir, network: o.network, chainId: o.chain.chainId, rpcUrls: o.chain.rpcUrls, contracts: o.chain.contracts, fromBlock: o.chain.fromBlock },
      market: { ...o.market, enabled: o.market.enabled && o.ledger.enabled, network: o.network }
    })({
      logger: log.child({ module: 'ledger' }),
      ledger: {
        logger: log.child({ module: 'ledger' }),
        events,
        metrics: createLedgerMetrics(this.metrics.registry),
        passphrase: async () => await readPassphrase(o.dataDir, this.env),
        store: levelKv(storage.state.sublevel('chain'))
      },
      rewards: { store: levelKv(storage.state.sublevel('rewards')), logger: log.child({ module: 'rewards' }) },
      market: {
        peerId: libp2p.peerId.toString(),
        libp2p,
        gossip,
        penalties: this.penalties,
        store: levelKv(storage.state.sublevel('market')),
        events,
        logger: log.child({ module: 'market' }),
        metrics: createMarketMetrics(this.metrics.registry),
        hardwareArrivals: (listener) => events.subscribe(e => { if (e.type === 'hardware.record') listener(e.data.peerId) }),
        providerFacts: (peerId) => {
          const record = peerId === libp2p.peerId.toString() ? hw.local() : hw.get(peerId)?.record
          let reputation: string | undefined
          try { reputation = this.consensus.reputationOf(peerId).peer.score } catch { reputation = undefined }
          return { hardware: record, samplesPerSec: record?.bench?.samplesPerSec, reputation }
        },
        // a compute fill's job runs here as a training job of this node, joined with the job's own dataset
        computeRunner: {
          start: async (job) => {
            const { id } = await this.training.createJob(job as Parameters<TrainingService['createJob']>[0])
            await this.training.joinJob(id, { dataset: String(job.dataset) })
            return id
          },
          stop: async (id) => { await this.training.stopJob(id) },
          // a buyer's own dataset: an artifact (CSV or JSON lines) fetched through storage, imported by training
          fetchArtifact: async (cid, opts) => ({ bytes: await this.artifacts.cat(cid, opts), mediaType: (await this.artifacts.meta(cid))?.mediaType }),
          importDataset: async (name, text, format) => { await this.training.importDataset(name, text, format) }
        }
      }
    })
    this.ledger = stack.ledger
    this.market = stack.market
    this.training = await services.start('training', training({
      ...o.training,
      dataDir: o.dataDir,
      fetchTimeoutMs: o.storage.fetchTimeoutMs,
      ...records,
      resources: o.resources
    })({
      peerId: libp2p.peerId.toString(),
      privateKey,
      gossip,
      artifacts: this.artifacts,
      state: storage.state,
      events,
      logger: log.child({ module: 'training' }),
      clock,
      penalties: this.penalties,
      metrics: createTrainingMetrics(this.metrics.registry),
      trainingSpeed: () => hw.local()?.bench?.samplesPerSec,
      // training registers the `hyperparams` proposal kind with consensus (started before it)
      proposals: this.consensus,
      // rewarded jobs lock, pay and redeem through the ledger's voucher book (it waits for the chain stack to load)
      rewards: stack.rewards
    }))

    await services.start('ledger', stack)

    this.api = await services.start('api', adminApi({ ...o.api, dataDir: o.dataDir, version: VERSION })({
      plugins: apiPlugins(this),
      logger: log.child({ module: 'api' }),
      metrics: this.metrics
    }))
    log.info({ peerId: this.peerId, addresses: this.addresses(), api: this.api.url }, 'meshnode started')
    // measured once we listen: the benchmark takes a second or two and must not delay start-up
    void hw.measure()
    // once "listening" is out (the CLI prints it when create() resolves): join the mesh, then load the chain stack
    setImmediate(() => {
      void dialBootstrap(libp2p, o.bootstrap, o.connections.dialTimeoutMs)
      void stack.load()
    })
  }

  addresses (): string[] {
    return this.libp2p.getMultiaddrs().map(String)
  }

  info (): NodeInfo {
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

  /** Connected peers with latency, last seen and hardware summary. */
  peers (): PeerSummary[] {
    return this.peerTracker.peers()
  }

  /** Stop everything in reverse order of start. Idempotent; each step's failure is logged and the rest still run. */
  async close (): Promise<void> {
    this.closing ??= (async () => {
      await this.services.stopAll()
      this.log.info('meshnode stopped')
    })()
    await this.closing
  }
}
