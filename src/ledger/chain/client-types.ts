/** The chain client's init, components and API (the service itself is in client.ts). */
import type { BaseWallet, JsonRpcProvider } from 'ethers'
import type { Service } from '../../common/service.js'
import type { EventSink } from '../../common/events.js'
import type { Logger } from '../../common/logger.js'
import type { Clock } from '../../common/clock.js'
import type { ChainEvents } from './events.js'
import type { ChainKv } from './kv.js'
import type { ChainMetrics } from './metrics.js'
import type { ProofReader } from './proofs.js'
import type { HeadWatch } from './head-watch.js'
import type { FinalityStatus, IntentInput, IntentRecord, IntentState, NetworkProfile } from './types.js'

/** The client's options. */
export interface ChainClientInit {
  network: NetworkProfile
  /** Replace a transaction pending this long (ms). Default `CHAIN_DEFAULTS.stallMs`. */
  stallMs?: number
  /** Pause between passes while an intent is on its way (ms). Default `CHAIN_DEFAULTS.pollMs`. */
  pollMs?: number
  /** Pause between passes when nothing is on its way (completed intents are still watched for reorgs, the finality
   * alarm still runs). Default 5 x pollMs. */
  idlePollMs?: number
  /** Keep checking completed intents for this many blocks (a reorg may undo them). Default 64. */
  reorgWatchBlocks?: number
  /** Never bid a maxFeePerGas above this (wei). Default `CHAIN_DEFAULTS.maxFeeCapWei`. */
  maxFeeCapWei?: bigint
}

/** What the client uses. */
export interface ChainClientComponents {
  /** The node's chain wallet (from the keystore); it signs locally, the provider only relays. */
  wallet: BaseWallet
  provider: JsonRpcProvider
  store: ChainKv
  events?: EventSink<ChainEvents>
  metrics?: ChainMetrics
  logger?: Logger
  clock?: Clock
  /** How proofs are read; default: the CreditVault through `provider`. */
  proofReader?: ProofReader
  /**
   * The ledger's one head poller. When given, an idle client runs a pass when the head changes (at most every
   * idlePollMs) and once a minute besides (the finality alarm), instead of every idlePollMs; each broadcast pokes it.
   */
  heads?: HeadWatch
}

/** The chain client. */
export interface ChainClient extends Service {
  readonly address: string
  readonly network: NetworkProfile
  /** Persists the intent (state `prepared`) and returns it; it is sent in the background. Same id again: the first. */
  submit: (input: IntentInput) => Promise<IntentRecord>
  /** Submits and waits until the intent is `done` (throws ERR_INTENT_FAILED if it fails). */
  settle: (input: IntentInput, opts?: { signal?: AbortSignal }) => Promise<IntentRecord>
  /** Waits until intent `id` is `done` (throws ERR_INTENT_FAILED if it fails, ERR_INTENT_NOT_FOUND if unknown). */
  wait: (id: string, opts?: { signal?: AbortSignal }) => Promise<IntentRecord>
  get: (id: string) => Promise<IntentRecord | undefined>
  /** Stored intents in submission order, optionally only those in `states`. */
  list: (opts?: { states?: IntentState[] }) => Promise<IntentRecord[]>
  /** The head, finality and confirmed height now (reads the chain). */
  finality: () => Promise<FinalityStatus>
  /** Runs one pass now (after any pass in progress). */
  tick: () => Promise<void>
}
