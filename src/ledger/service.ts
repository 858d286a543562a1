/**
 * The ledger service: brings up the node's chain (on `local` the embedded anvil, with the contracts deployed and the
 * wallet funded by the faucet; elsewhere the configured RPC and contract addresses), opens the wallet keystore, serves
 * the wallet and ledger views and operations, and completes due vault withdrawals by itself.
 *
 * A chain that cannot be reached does not stop the node: the service logs why once, and the API answers 409 with
 * that reason until a restart. `ledger.enabled: false` keeps all of it off (no anvil, no keystore).
 */
import { join } from 'node:path'
import type { Wallet } from 'ethers'
import type { EventSink } from '../common/events.js'
import type { Logger } from '../common/logger.js'
import { MeshError } from '../common/errors.js'
import {
  chainClient, chainIndexer, createChainProvider, loadOrCreateChainWallet, networkProfile, HeadWatch,
  type ChainClient, type ChainIndexer, type ChainKv, type FailoverProvider
} from './chain/index.js'
import { creditVaultAbi } from './contracts/index.js'
import { intentSender, type TxSender } from './senders.js'
import { formatFtns, parseFtns } from './amounts.js'
import { LedgerError } from './errors.js'
import type { LedgerEvents } from './events.js'
import type { LedgerMetrics } from './metrics.js'
import type { LedgerOptions } from './options.js'
import { ensureAnvil, withLocalChainLock, LOCAL_CHAIN_ID, type LocalChain } from './local/anvil.js'
import { ensureLocalContracts, type ContractAddresses } from './local/deploy.js'
import { fundFromFaucet } from './local/faucet.js'
import { WalletOps } from './wallet-ops.js'
import type { LedgerInfoView, SettlementView, WalletTxResult, WalletView } from './views.js'

/** The networks the ledger runs on. */
export type LedgerNetwork = 'local' | 'amoy' | 'polygon'

/** Where the wallet keystore lives in the data dir. */
export const WALLET_FILE = 'wallet.json'

/** The ledger's init: its options plus the network's chain settings (from configs/networks and env). */
export interface LedgerInit extends LedgerOptions {
  dataDir: string
  network: LedgerNetwork
  chainId: number
  /** RPC URLs; empty on `local` means the embedded anvil. */
  rpcUrls: readonly string[]
  /** Contract addresses by name; on `local` found or deployed when empty. */
  contracts: Readonly<Record<string, string>>
  /** The contracts' deployment block, where the event indexer starts (0 on `local`). */
  fromBlock?: number
  /** Where the local chain's leases and lock live (tests); default the OS temp dir. */
  runDir?: string
}

/** What the ledger uses of the node. */
export interface LedgerComponents {
  logger: Logger
  events: EventSink<LedgerEvents>
  metrics?: LedgerMetrics
  /** The keystore passphrase, read by the node with the same rules as its identity's. */
  passphrase: () => Promise<string>
  /**
   * Where the chain client persists settlement intents and nonces (the node: `levelKv(state.sublevel('chain'))`).
   * Without it, wallet transactions go straight from the wallet (tools, tests) and are not exactly-once.
   */
  store?: ChainKv
}

/** Where the ledger is: off, coming up, serving, or failed to come up (with why). */
export type LedgerState = 'disabled' | 'starting' | 'ready' | 'failed'

/** What other parts of the ledger (the market) use once the ledger is ready: the chain handles it brought up. */
export interface LedgerChain {
  chainId: number
  network: LedgerNetwork
  wallet: Wallet
  provider: FailoverProvider
  contracts: ContractAddresses
  /** The settlement client (exactly-once intents); absent when the node gave the ledger no store. */
  client?: ChainClient
  /** The ledger's one head poller: indexers follow it rather than polling the chain themselves. */
  heads: HeadWatch
  /** Where the local chain's lock lives (local network only), for serialised dev-chain setup. */
  anvilPort?: number
  runDir?: string
}

/** The ledger's API (what the routes use). */
export interface LedgerApi {
  readonly state: LedgerState
  wallet: () => Promise<WalletView>
  deposit: (amount: string) => Promise<WalletTxResult>
  withdraw: (amount: string) => Promise<WalletTxResult>
  send: (to: string, amount: string) => Promise<WalletTxResult>
  info: () => Promise<LedgerInfoView>
  settlements: () => Promise<SettlementView[]>
}

/** How long stop() waits for a bring-up in progress before releasing what it has taken. */
const STOP_WAIT_MS = 2000
/** Failures worth another bring-up (the chain may come back); the others need the operator. */
const TRANSIENT = new Set(['ERR_CHAIN_UNAVAILABLE', 'ERR_ANVIL', 'ERR_TX_FAILED'])
const RETRY_FIRST_MS = 5000
const RETRY_MAX_MS = 60_000

const CONTRACT_NAMES = ['FTNSToken', 'CreditVault', 'ComputeMarket'] as const

function configuredContracts (c: Readonly<Record<string, string>>): ContractAddresses | undefined {
  if (CONTRACT_NAMES.every(n => typeof c[n] === 'string' && c[n] !== '')) return { FTNSToken: c.FTNSToken, CreditVault: c.CreditVault, ComputeMarket: c.ComputeMarket }
  return undefined
}

/** The ledger service. */
export class Ledger implements LedgerApi {
  private current: LedgerState
  private failure?: MeshError
  private local?: LocalChain
  private provider?: FailoverProvider
  private ops?: WalletOps
  private client?: ChainClient
  private indexer?: ChainIndexer
  private heads?: HeadWatch
  private timer?: NodeJS.Timeout
  private polling = false
  private startOnce?: Promise<void>
  private retry?: NodeJS.Timeout
  private stopping = false
  private handles?: LedgerChain

  constructor (private readonly components: LedgerComponents, private readonly init: LedgerInit) {
    this.current = init.enabled ? 'starting' : 'disabled'
  }

  get state (): LedgerState { return this.current }

  /**
   * Bring the chain, contracts and wallet up, in the background: the node serves everything else at once, and the
   * wallet API answers 409 ERR_LEDGER_NOT_READY until `ledger.ready` (a few seconds on `local`: anvil, deploy, the
   * keystore's key derivation). Never throws for an unreachable chain: the API reports it.
   */
  async start (): Promise<void> {
    if (!this.init.enabled || this.startOnce !== undefined) return
    this.stopping = false
    this.attempt()
  }

  /**
   * One bring-up; a transient failure (the chain or the local chain's lock busy, an RPC down) is retried with a
   * growing delay, so a node started with many others, or before its RPC, still gets its ledger.
   */
  private attempt (tries = 1): void {
    this.startOnce = this.bringUp().catch(async (err: unknown) => {
      if (this.stopping) return
      this.current = 'failed'
      this.failure = err instanceof MeshError ? err : new LedgerError('ERR_CHAIN_UNAVAILABLE', `the ledger could not start: ${(err as Error).message.split('\n')[0].slice(0, 300)}`, { cause: err })
      const retryMs = TRANSIENT.has(this.failure.code) ? Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (tries - 1)) : undefined
      this.components.logger.error({ err: this.failure.message, code: this.failure.code, retryMs }, 'ledger unavailable')
      await this.cleanup()
      if (retryMs !== undefined && !this.stopping) this.retry = setTimeout(() => { if (!this.stopping) this.attempt(tries + 1) }, retryMs)
    }).finally(async () => {
      // stopped while coming up: give back what was taken after stop() ran
      if (this.stopping) await this.cleanup()
    })
  }

  /** The chain handles while ready (the market service's way in), else undefined. */
  chain (): LedgerChain | undefined { return this.handles }

  /** Resolves once the ledger is ready or failed (tests, tools). */
  async whenStarted (): Promise<LedgerState> {
    await this.startOnce
    return this.current
  }

  /** Throws when stop() was called meanwhile: bring-up stops at its next step. */
  private checkpoint (): void {
    if (this.stopping) throw new LedgerError('ERR_LEDGER_NOT_READY', 'the ledger was stopped while starting')
  }

  private async bringUp (): Promise<void> {
    const { init, components: { logger, events } } = this
    const onLocal = init.network === 'local'
    const embedded = onLocal && init.rpcUrls.length === 0
    let urls = [...init.rpcUrls]
    if (embedded) {
      this.local = await ensureAnvil({ dataDir: init.dataDir, port: init.anvil.port, startTimeoutMs: init.anvil.startTimeoutMs, logger, runDir: init.runDir })
      this.checkpoint()
      urls = [this.local.url]
    }
    if (urls.length === 0) throw new LedgerError('ERR_CHAIN_UNAVAILABLE', `no RPC URL for network ${init.network}: set MESHNODE_RPC_URLS`)
    const provider = this.provider = createChainProvider({ urls, network: { chainId: BigInt(init.chainId), automine: onLocal }, timeoutMs: init.rpcTimeoutMs })
    const actual = await provider.send('eth_chainId', []).then((h: string) => Number(BigInt(h)))
    if (actual !== init.chainId) throw new LedgerError('ERR_CHAIN_MISMATCH', `the RPC serves chain ${actual}, but network ${init.network} is chain ${init.chainId}`)

    let contracts = configuredContracts(init.contracts)
    let deployed = false
    if (contracts === undefined && onLocal && init.chainId === LOCAL_CHAIN_ID) {
      const r = await withLocalChainLock(init.anvil.port, async () => await ensureLocalContracts(provider), { runDir: init.runDir })
      contracts = r.addresses
      deployed = r.deployed
      if (deployed) logger.info({ contracts }, 'deployed the contracts on the local chain')
    }
    this.checkpoint()
    if (contracts === undefined) throw new LedgerError('ERR_NOT_DEPLOYED', `no contract addresses for network ${init.network}: add chain.contracts to configs/networks/${init.network}.yaml (see \`meshnode contracts deploy\`)`)

    const wallet: Wallet = (await loadOrCreateChainWallet(join(init.dataDir, WALLET_FILE), await this.components.passphrase())).connect(provider)
    const heads = this.heads = new HeadWatch(provider, {}, logger)
    heads.subscribe(head => {
      this.components.metrics?.blockNumber.set(head.number)
      void this.poll() // a mined block may be the one that makes a pending withdrawal due (the chain's clock)
    })
    heads.start()
    let sender: TxSender | undefined
    const store = this.components.store
    if (store !== undefined) {
      const network = networkProfile(init.network, { chainId: BigInt(init.chainId) })
      const metrics = this.components.metrics?.chain
      // the embedded chain mines each transaction at once: look for its receipt soon, and idle slowly
      const polls = embedded ? { pollMs: 100, idlePollMs: 5000 } : {}
      const client = this.client = chainClient({ network, ...polls })({ wallet, provider, store, events, metrics, logger, heads })
      await client.start()
      sender = intentSender(client, this.components.metrics)
      this.indexer = chainIndexer({ contracts: [{ name: 'CreditVault', address: contracts.CreditVault, abi: creditVaultAbi }], fromBlock: init.fromBlock ?? 0 })({ provider, store, events, metrics, logger, heads })
      await this.indexer.start()
    }
    const ops = new WalletOps(wallet, init.chainId, contracts, this.components.metrics, sender, this.indexer)
    this.checkpoint()
    if (onLocal && init.chainId === LOCAL_CHAIN_ID) {
      const given = await withLocalChainLock(init.anvil.port, async () => await fundFromFaucet(provider, contracts.FTNSToken, wallet.address, parseFtns(init.faucet.ftns), parseFtns(init.faucet.eth)), { runDir: init.runDir })
      if (given.ftns > 0n || given.eth > 0n) {
        logger.info({ address: wallet.address, ftns: formatFtns(given.ftns), eth: formatFtns(given.eth) }, 'funded the wallet from the local faucet')
        events.emit('ledger.funded', { ftns: formatFtns(given.ftns), eth: formatFtns(given.eth) })
      }
    }
    this.checkpoint()
    this.ops = ops
    this.handles = { chainId: init.chainId, network: init.network, wallet, provider, contracts, client: this.client, heads, anvilPort: onLocal ? init.anvil.port : undefined, runDir: init.runDir }
    this.failure = undefined
    this.current = 'ready'
    this.timer = setInterval(() => { void this.poll() }, init.withdrawalPollMs)
    this.timer.unref()
    logger.info({ network: init.network, chainId: init.chainId, address: wallet.address }, 'ledger ready')
    events.emit('ledger.ready', { network: init.network, chainId: init.chainId, address: wallet.address, deployed })
  }

  /**
   * Complete a due withdrawal (on each new head and every withdrawalPollMs; no RPC while the wallet is known to have
   * none pending); one poll at a time, failures logged and retried at the next tick.
   */
  private async poll (): Promise<void> {
    if (this.polling || this.ops === undefined) return
    this.polling = true
    try {
      const done = await this.ops.completeDueWithdrawal(Date.now() / 1000)
      if (done !== undefined) {
        this.components.logger.info(done, 'completed a vault withdrawal')
        this.components.events.emit('wallet.withdrawn', done)
      }
    } catch (err) {
      this.components.logger.warn({ err: (err as Error).message.split('\n')[0] }, 'withdrawal check failed; retrying')
    } finally {
      this.polling = false
    }
  }

  async stop (): Promise<void> {
    if (this.startOnce === undefined) return
    this.stopping = true
    clearTimeout(this.retry)
    clearInterval(this.timer)
    this.timer = undefined
    // a bring-up stuck on the chain must not hold the node's shutdown: wait a little, then release what exists
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.startOnce, new Promise<void>(resolve => { timer = setTimeout(resolve, STOP_WAIT_MS) })])
    clearTimeout(timer)
    this.startOnce = undefined
    await this.cleanup()
  }

  /** Stop and release whatever bring-up created (idempotent: each resource is taken off first, then closed). */
  private async cleanup (): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    const { indexer, client, provider, local, heads } = this
    this.heads = undefined
    this.indexer = undefined
    this.client = undefined
    this.provider = undefined
    this.local = undefined
    this.ops = undefined
    this.handles = undefined
    if (this.current === 'ready') this.current = 'starting'
    heads?.stop()
    await indexer?.stop()
    await client?.stop()
    provider?.destroy()
    await local?.release()
  }

  private ready (): WalletOps {
    if (this.current === 'disabled') throw new LedgerError('ERR_LEDGER_DISABLED', 'the ledger is switched off on this node (ledger.enabled: false)')
    if (this.current === 'failed' && this.failure !== undefined) throw this.failure
    if (this.ops === undefined) throw new LedgerError('ERR_LEDGER_NOT_READY', 'the ledger is still starting')
    return this.ops
  }

  async wallet (): Promise<WalletView> { return await this.chainCall(async () => await this.ready().view()) }

  async deposit (amount: string): Promise<WalletTxResult> {
    const r = await this.chainCall(async () => await this.ready().deposit(amount))
    this.components.events.emit('wallet.deposited', { amount: r.amount, tx: r.tx })
    return r
  }

  async withdraw (amount: string): Promise<WalletTxResult> {
    const r = await this.chainCall(async () => await this.ready().withdraw(amount))
    this.components.events.emit('wallet.withdrawal-requested', { amount: r.amount, pending: r.wallet.vault.pending, readyAt: r.readyAt ?? '', tx: r.tx })
    return r
  }

  async send (to: string, amount: string): Promise<WalletTxResult> {
    const r = await this.chainCall(async () => await this.ready().transfer(to, amount))
    this.components.events.emit('wallet.sent', { to, amount: r.amount, tx: r.tx })
    return r
  }

  async info (): Promise<LedgerInfoView> {
    return await this.chainCall(async () => {
      const ops = this.ready()
      const provider = this.provider as FailoverProvider
      const [blockNumber, finalized] = await Promise.all([provider.getBlockNumber(), provider.getBlock('finalized').catch(() => null)])
      return {
        network: this.init.network,
        chainId: this.init.chainId,
        blockNumber,
        finalizedBlock: finalized?.number ?? null,
        rpc: this.local !== undefined ? 'embedded anvil' : `configured URL #${provider.currentUrlIndex}`,
        contracts: { ...ops.contracts }
      }
    })
  }

  async settlements (): Promise<SettlementView[]> {
    return await this.chainCall(async () => await this.ready().settlements())
  }

  /** Our own errors pass; anything else from the chain (an RPC down, a timeout) is a 409 that says so, never a 5xx. */
  private async chainCall<T> (fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      if (err instanceof MeshError) throw err
      throw new LedgerError('ERR_CHAIN_UNAVAILABLE', `the chain did not answer: ${(err as Error).message.split('\n')[0].slice(0, 200)}`, { cause: err })
    }
  }
}

/** The ledger service factory: `ledger(init)(components)`. */
export function ledger (init: LedgerInit): (components: LedgerComponents) => Ledger {
  return (components) => new Ledger(components, init)
}
