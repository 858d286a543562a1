/**
 * The ledger's chain stack (ledger service, rewards voucher book, market), loaded after the node listens.
 *
 * Loading it means ethers, the contract bindings and the market (hundreds of modules), then the chain bring-up (on
 * `local` an anvil, the deployment and the faucet): seconds of CPU on a loaded machine, none of which the admin API or
 * libp2p need to serve. So the node builds this light stand-in at start, prints "listening", then calls `load()`.
 * Until the stack runs, its parts answer as a ledger that is still starting: the API's ledger and market routes 409
 * (ERR_LEDGER_NOT_READY, the market's not-ready), and the rewards port waits for the load. With `ledger.enabled:
 * false` nothing is ever loaded, and the parts answer that the ledger is off.
 */
import type { Logger } from '../common/logger.js'
import type { Service } from '../common/service.js'
import { parseFtns } from './amounts.js'
import { LedgerError } from './errors.js'
import { MarketError } from './market/errors.js'
import type { LedgerApi, LedgerChain, LedgerState } from './service.js'
import type { Market, MarketApi } from './market/index.js'
import type { LedgerRewards, RewardVoucherData } from './rewards.js'
import type { LedgerStack, LedgerStackComponents, LedgerStackInit } from './stack.js'
import type { WalletTxResult, WalletView, LedgerInfoView, SettlementView } from './views.js'
import type { BookView, BooksView, CancelResult, FillRequest, FillView, FillsView, OrdersView, PostOrderRequest, PostOrderResult } from './market/service/views.js'

export type { LedgerStack, LedgerStackComponents, LedgerStackInit } from './stack.js'

/** What the stand-ins ask of the stack: the running parts, whether it is on, and a load to wait for. */
interface StackAccess {
  readonly enabled: boolean
  current: () => LedgerStack | undefined
  load: () => Promise<LedgerStack | undefined>
}

const notReady = (): LedgerError => new LedgerError('ERR_LEDGER_NOT_READY', 'the ledger is still starting')
const disabled = (): LedgerError => new LedgerError('ERR_LEDGER_DISABLED', 'the ledger is switched off on this node (ledger.enabled: false)')

/** The ledger as the node and the API see it: the loaded service's answers, or "starting" / "off" before. */
export class DeferredLedger implements LedgerApi {
  constructor (private readonly s: StackAccess) {}

  get state (): LedgerState { return this.s.current()?.ledger.state ?? (this.s.enabled ? 'starting' : 'disabled') }

  /** The chain handles while the ledger is ready (tests, tools), else undefined. */
  chain (): LedgerChain | undefined { return this.s.current()?.ledger.chain() }

  /** Resolves once the ledger is loaded and ready or failed (tests, tools); 'disabled' when it is off. */
  async whenStarted (): Promise<LedgerState> {
    const stack = await this.s.load()
    return stack !== undefined ? await stack.ledger.whenStarted() : this.state
  }

  private ledger (): LedgerApi {
    const l = this.s.current()?.ledger
    if (l !== undefined) return l
    throw this.s.enabled ? notReady() : disabled()
  }

  async wallet (): Promise<WalletView> { return await this.ledger().wallet() }
  async deposit (amount: string): Promise<WalletTxResult> { return await this.ledger().deposit(amount) }
  async withdraw (amount: string): Promise<WalletTxResult> { return await this.ledger().withdraw(amount) }
  async send (to: string, amount: string): Promise<WalletTxResult> { return await this.ledger().send(to, amount) }
  async info (): Promise<LedgerInfoView> { return await this.ledger().info() }
  async settlements (): Promise<SettlementView[]> { return await this.ledger().settlements() }
}

/** The market as the API sees it: the loaded service, or the market's own not-ready refusal before. */
export class DeferredMarket implements MarketApi {
  constructor (private readonly s: StackAccess) {}

  /** The running market service (tests, tools), once loaded. */
  current (): Market | undefined { return this.s.current()?.market }

  private market (): MarketApi {
    const m = this.current()
    if (m !== undefined) return m
    throw new MarketError('not-ready', this.s.enabled ? 'the market is still starting (loading)' : 'the market is switched off on this node (market.enabled: false)')
  }

  books (): BooksView { return this.market().books() }
  book (market: string, resourceClass?: string): BookView { return this.market().book(market, resourceClass) }
  async postOrder (req: PostOrderRequest): Promise<PostOrderResult> { return await this.market().postOrder(req) }
  async cancel (hash: string): Promise<CancelResult> { return await this.market().cancel(hash) }
  async cancelLane (lane: number): Promise<CancelResult> { return await this.market().cancelLane(lane) }
  orders (owner?: string): OrdersView { return this.market().orders(owner) }
  async fill (req: FillRequest): Promise<FillView> { return await this.market().fill(req) }
  fills (): FillsView { return this.market().fills() }
}

/** The ports of the rewards voucher book that training uses. */
export type RewardsApi = Pick<LedgerRewards, 'address' | 'parseAmount' | 'reserve' | 'payRound' | 'closeJob' | 'receive' | 'redeem'>

/**
 * The rewards voucher book for training: its asynchronous calls wait for the stack to load (training retries what
 * fails later: payments, redemptions), then answer as the ledger's book does.
 */
export class DeferredRewards implements RewardsApi {
  constructor (private readonly s: StackAccess) {}

  private async book (): Promise<LedgerRewards> {
    if (!this.s.enabled) throw new LedgerError('ERR_LEDGER_DISABLED', 'the ledger is switched off on this node (ledger.enabled: false): it cannot pay or receive rewards')
    const stack = this.s.current() ?? await this.s.load()
    if (stack === undefined) throw notReady()
    return stack.rewards
  }

  address (): string {
    const r = this.s.current()?.rewards
    if (r !== undefined) return r.address()
    throw this.s.enabled ? notReady() : disabled()
  }

  parseAmount (input: unknown, name: string): bigint { return parseFtns(input, { name, positive: true }) }
  async reserve (jobId: string, totalWei: bigint): Promise<void> { await (await this.book()).reserve(jobId, totalWei) }
  async payRound (p: Parameters<LedgerRewards['payRound']>[0]): Promise<RewardVoucherData[]> { return await (await this.book()).payRound(p) }
  async closeJob (jobId: string): Promise<void> { await (await this.book()).closeJob(jobId) }
  async receive (v: RewardVoucherData): Promise<boolean> { return await (await this.book()).receive(v) }
  async redeem (opts: { force?: boolean } = {}): Promise<void> { await (await this.book()).redeem(opts) }
}

/**
 * The stack as a node service: `start()` loads nothing (the node calls `load()` once it listens); `stop()` waits for
 * a load in flight and stops what it started, the market first.
 */
export class DeferredLedgerStack implements Service, StackAccess {
  readonly ledger: DeferredLedger
  readonly market: DeferredMarket
  readonly rewards: DeferredRewards
  private loading?: Promise<LedgerStack | undefined>
  private stack?: LedgerStack
  private stopped = false

  constructor (private readonly init: LedgerStackInit, private readonly c: LedgerStackComponents & { logger: Logger }) {
    this.ledger = new DeferredLedger(this)
    this.market = new DeferredMarket(this)
    this.rewards = new DeferredRewards(this)
  }

  get enabled (): boolean { return this.init.ledger.enabled }

  current (): LedgerStack | undefined { return this.stack }

  start (): void {}

  /**
   * Load and start the stack, once; resolves with it, or undefined when the ledger is off, the node stopped first,
   * or the load failed (logged: a module that does not load is a bug, and the parts keep answering "starting").
   */
  async load (): Promise<LedgerStack | undefined> {
    this.loading ??= this.loadOnce()
    return await this.loading
  }

  private async loadOnce (): Promise<LedgerStack | undefined> {
    if (!this.enabled || this.stopped) return undefined
    try {
      const { startLedgerStack, stopLedgerStack } = await import('./stack.js')
      if (this.stopped) return undefined
      const stack = await startLedgerStack(this.init, this.c)
      if (this.stopped) {
        await stopLedgerStack(stack)
        return undefined
      }
      this.stack = stack
      return stack
    } catch (err) {
      this.c.logger.error({ err }, 'the ledger stack did not load')
      return undefined
    }
  }

  async stop (): Promise<void> {
    this.stopped = true
    await this.loading
    const stack = this.stack
    this.stack = undefined
    if (stack === undefined) return
    await stack.market.stop()
    await stack.ledger.stop()
  }
}

/** The deferred stack's factory: `ledgerStack(init)(components)`. */
export function ledgerStack (init: LedgerStackInit): (components: LedgerStackComponents & { logger: Logger }) => DeferredLedgerStack {
  return (components) => new DeferredLedgerStack(init, components)
}
