/**
 * What the training service is built from: its serializable options (`TrainingServiceInit`) and the dependencies it
 * uses (`TrainingServiceComponents`), each typed as the small slice the service calls, so a test hands in a few
 * functions and the node hands in its real stores.
 */
import type { PrivateKey } from '@libp2p/interface'
import type { Clock } from '../../common/clock.js'
import type { EventSink } from '../../common/events.js'
import type { Logger } from '../../common/logger.js'
import type { GossipProcessor } from '../../protocols/gossip.js'
import type { PenaltyBook } from '../../protocols/penalties.js'
import type { AddArtifactOptions, ArtifactInfo, FetchOptions } from '../../storage/index.js'
import type { TrainingEvents } from '../events.js'
import type { TrainingMetrics } from '../metrics.js'
import type { TrainingOptions } from '../options.js'
import type { TrainingProposals } from './hyperparams-kind.js'
import type { RewardsPort } from './rewards.js'

/** The service's options: training's own (`TrainingOptions`) and the node-wide ones it reads. */
export interface TrainingServiceInit extends TrainingOptions {
  /** Where imported datasets are stored (`<dataDir>/datasets`). */
  dataDir: string
  /** How long to wait for a delta or model from peers. */
  fetchTimeoutMs: number
  /** Freshness window of gossiped messages. */
  recordMaxAgeMs: number
  recordMaxSkewMs: number
  /** The profile's caps on training work. */
  resources: { trainingThreads: number, maxMemoryMB: number, dutyCycle: number }
}

/** Where deltas and models are stored and fetched (the storage subsystem's artifact store). */
export interface TrainingArtifacts {
  add: (bytes: Uint8Array, opts: AddArtifactOptions) => Promise<Pick<ArtifactInfo, 'cid'>>
  meta: (cid: string) => Promise<Pick<ArtifactInfo, 'local'> | undefined>
  cat: (cid: string, opts: FetchOptions) => Promise<Uint8Array>
}

/**
 * Where each job is persisted: one sublevel of the node's state store, read once at start and written after every
 * step of the job's machine (a single put is one atomic LevelDB write).
 */
export interface TrainingState {
  sublevel: <V>(name: string) => { iterator: () => AsyncIterable<[string, V]>, put: (key: string, value: V) => Promise<void>, del: (key: string) => Promise<void> }
}

/** The training topic's slice of the gossip processor. */
export type TrainingGossip = Pick<GossipProcessor, 'register' | 'publish'>

/** Where peers the round protocol catches misbehaving are reported (gossipsub's application score). */
export type TrainingPenalties = Pick<PenaltyBook, 'penalise'>

/** What the training service uses. */
export interface TrainingServiceComponents {
  peerId: string
  privateKey: PrivateKey
  gossip: TrainingGossip
  artifacts: TrainingArtifacts
  state: TrainingState
  events: EventSink<TrainingEvents>
  logger: Logger
  clock: Clock
  penalties?: TrainingPenalties
  metrics?: TrainingMetrics
  /** The node's measured training speed (samples/s), for the work budget. */
  trainingSpeed?: () => number | undefined
  /** Consensus, where the node runs it: training registers the `hyperparams` kind and proposes rollbacks. */
  proposals?: TrainingProposals
  /** The ledger, where the node runs one: rewarded jobs lock, pay and redeem through it (service/rewards.ts). */
  rewards?: RewardsPort
}
