/**
 * The wallet's operations on a running chain: reading balances and locks, depositing into the vault, requesting a
 * withdrawal (completed by itself once the delay has passed: see `completeDueWithdrawal`), sending FTNS.
 *
 * Every request is checked against the chain before anything is sent (a deposit above the wallet's balance, a
 * withdrawal above the free vault balance are refused with a clear 4xx and change nothing). Transactions are sent one
 * at a time from this wallet, each waited for, so their nonces never collide.
 */
import { getAddress, isAddress, MaxUint256, type Wallet } from 'ethers'
import { attachCreditVault, attachFTNSToken, type CreditVaultContract, type FTNSTokenContract } from './contracts/index.js'
import { formatFtns, parseFtns } from './amounts.js'
import { LedgerError } from './errors.js'
import type { LedgerMetrics } from './metrics.js'
import type { ContractAddresses } from './local/deploy.js'
import type { ChainIndexer } from './chain/index.js'
import { directSender, type TxSender } from './senders.js'
import type { LockView, SettlementView, WalletTxResult, WalletView } from './views.js'

const iso = (seconds: bigint): string => new Date(Number(seconds) * 1000).toISOString()

/** What a wallet transaction needs: the contract call, and a name for metrics and the settlement list. */
interface TxSpec { op: string, to: string, data: string }

/** The wallet on one chain with the meshnode contracts. */
export class WalletOps {
  readonly address: string
  private readonly token: FTNSTokenContract
  private readonly vault: CreditVaultContract
  private queue: Promise<unknown> = Promise.resolve()
  private readonly sender: TxSender
  /** Whether the vault holds a withdrawal of ours (undefined: not read yet); only our own transactions change it. */
  private withdrawalPending: boolean | undefined
  /** Bumped by each withdrawal request: a read begun before it must not overwrite what it set. */
  private withdrawalRequests = 0

  /**
   * `sender`: how transactions go out (default: straight from the wallet); `indexer`: where lock events are read
   * (default: `eth_getLogs` from block 0, fine on the local chain only).
   */
  constructor (
    private readonly wallet: Wallet, readonly chainId: number, readonly contracts: ContractAddresses, private readonly metrics?: LedgerMetrics,
    sender?: TxSender, private readonly indexer?: Pick<ChainIndexer, 'sync' | 'query'>
  ) {
    this.address = wallet.address
    this.token = attachFTNSToken(contracts.FTNSToken, wallet)
    this.vault = attachCreditVault(contracts.CreditVault, wallet)
    this.sender = sender ?? directSender(wallet, [this.vault, this.token], metrics)
  }

  /** Balances, the vault's free, locked and pending amounts, and the locks this wallet pays or is paid by. */
  async view (): Promise<WalletView> {
    const provider = this.provider()
    // every read at one block: a transaction mined between two reads (a withdrawal completing) showed half of itself,
    // the vault's pending amount gone and the wallet's balance not yet up
    const blockTag = await provider.getBlockNumber()
    const [ftns, eth, free, withdrawal, locks] = await Promise.all([
      this.token.balanceOf(this.address, { blockTag }),
      provider.getBalance(this.address, blockTag),
      this.vault.freeBalanceOf(this.address, { blockTag }),
      this.vault.withdrawalOf(this.address, { blockTag }),
      this.locks(blockTag)
    ])
    let locked = 0n
    for (const l of locks) if (l.role === 'payer' && !l.closed) locked += parseFtns(l.amount) - parseFtns(l.redeemed)
    this.metrics?.walletFtns.set({ where: 'wallet' }, Number(formatFtns(ftns)))
    this.metrics?.walletFtns.set({ where: 'free' }, Number(formatFtns(free)))
    this.metrics?.walletFtns.set({ where: 'locked' }, Number(formatFtns(locked)))
    return {
      address: this.address,
      chainId: this.chainId,
      ftns: formatFtns(ftns),
      eth: formatFtns(eth),
      vault: {
        free: formatFtns(free),
        locked: formatFtns(locked),
        pending: formatFtns(withdrawal.amount),
        readyAt: withdrawal.amount > 0n ? iso(withdrawal.readyAt) : null
      },
      locks
    }
  }

  /** Locks opened with this wallet as payer or provider (from the vault's LockOpened events), with their state now (or at `blockTag`). */
  async locks (blockTag?: number): Promise<LockView[]> {
    const seen = new Set<string>()
    const out: LockView[] = []
    for (const o of await this.lockOpenings()) {
      const payer = getAddress(o.payer)
      const provider = getAddress(o.provider)
      const role = payer === this.address ? 'payer' : provider === this.address ? 'provider' : undefined
      if (role === undefined || seen.has(o.lockId)) continue
      seen.add(o.lockId)
      const l = await this.vault.getLock(o.lockId, { blockTag })
      if (l.expiry === 0n) continue // opened after `blockTag` (the indexer may be ahead of it): not there yet
      out.push({ lockId: o.lockId, role, payer, provider, amount: formatFtns(l.amount), redeemed: formatFtns(l.redeemed), expiry: iso(l.expiry), closed: l.closed })
    }
    return out
  }

  /** The vault's LockOpened events naming this wallet: from the chain client's indexer, else straight from the logs. */
  private async lockOpenings (): Promise<Array<{ lockId: string, payer: string, provider: string }>> {
    if (this.indexer !== undefined) {
      await this.indexer.sync()
      return (await this.indexer.query({ contract: 'CreditVault', name: 'LockOpened' }))
        .map(e => ({ lockId: String(e.args.lockId), payer: String(e.args.payer), provider: String(e.args.provider) }))
    }
    const [paid, received] = await Promise.all([
      this.vault.queryFilter(this.vault.filters.LockOpened(undefined, this.address), 0),
      this.vault.queryFilter(this.vault.filters.LockOpened(undefined, undefined, this.address), 0)
    ])
    return [...paid, ...received].flatMap(log => {
      const parsed = this.vault.interface.parseLog(log)
      return parsed === null ? [] : [{ lockId: String(parsed.args.lockId), payer: String(parsed.args.payer), provider: String(parsed.args.provider) }]
    })
  }

  /** Move `amount` FTNS from the wallet into the vault (approving the vault once, for good). */
  async deposit (amount: string): Promise<WalletTxResult> {
    const wei = parseFtns(amount, { positive: true })
    return await this.serial(async () => {
      const have = await this.token.balanceOf(this.address)
      if (wei > have) throw new LedgerError('ERR_INSUFFICIENT_FUNDS', `cannot deposit ${formatFtns(wei)} FTNS: the wallet holds ${formatFtns(have)} FTNS`)
      if (await this.token.allowance(this.address, this.contracts.CreditVault) < wei) {
        await this.send({ op: 'approve', to: this.contracts.FTNSToken, data: this.token.interface.encodeFunctionData('approve', [this.contracts.CreditVault, MaxUint256]) })
      }
      const tx = await this.send({ op: 'deposit', to: this.contracts.CreditVault, data: this.vault.interface.encodeFunctionData('deposit', [wei]) })
      return { op: 'deposit' as const, amount: formatFtns(wei), tx, wallet: await this.view() }
    })
  }

  /** Ask to withdraw `amount` FTNS of the free vault balance; it completes by itself once the vault's delay has passed. */
  async withdraw (amount: string): Promise<WalletTxResult> {
    const wei = parseFtns(amount, { positive: true })
    return await this.serial(async () => {
      const free = await this.vault.freeBalanceOf(this.address)
      if (wei > free) throw new LedgerError('ERR_INSUFFICIENT_FUNDS', `cannot withdraw ${formatFtns(wei)} FTNS: the vault's free balance is ${formatFtns(free)} FTNS (locked funds stay until their lock expires)`)
      const tx = await this.send({ op: 'withdraw-request', to: this.contracts.CreditVault, data: this.vault.interface.encodeFunctionData('requestWithdrawal', [wei]) })
      this.withdrawalPending = true
      this.withdrawalRequests++
      const w = await this.vault.withdrawalOf(this.address)
      return { op: 'withdraw' as const, amount: formatFtns(wei), tx, readyAt: iso(w.readyAt), wallet: await this.view() }
    })
  }

  /** Send `amount` FTNS from the wallet to `to`. */
  async transfer (to: string, amount: string): Promise<WalletTxResult> {
    if (!isAddress(to)) throw new LedgerError('ERR_ADDRESS', `to must be a 0x-prefixed address, got ${JSON.stringify(to).slice(0, 70)}`)
    const wei = parseFtns(amount, { positive: true })
    return await this.serial(async () => {
      const have = await this.token.balanceOf(this.address)
      if (wei > have) throw new LedgerError('ERR_INSUFFICIENT_FUNDS', `cannot send ${formatFtns(wei)} FTNS: the wallet holds ${formatFtns(have)} FTNS`)
      const tx = await this.send({ op: 'send', to: this.contracts.FTNSToken, data: this.token.interface.encodeFunctionData('transfer', [getAddress(to), wei]) })
      return { op: 'send' as const, amount: formatFtns(wei), tx, wallet: await this.view() }
    })
  }

  /**
   * Complete the pending withdrawal when its delay has passed (by the chain's clock, or the wall clock when no block
   * was mined since). Returns what was withdrawn, or undefined when nothing was due.
   */
  async completeDueWithdrawal (nowSeconds: number): Promise<{ amount: string, tx: string } | undefined> {
    if (this.withdrawalPending === false) return undefined
    const requests = this.withdrawalRequests
    const w = await this.vault.withdrawalOf(this.address)
    if (requests === this.withdrawalRequests) this.withdrawalPending = w.amount > 0n
    if (w.amount === 0n) return undefined
    const head = await this.provider().getBlock('latest')
    const chainNow = BigInt(Math.max(Number(head?.timestamp ?? 0), Math.floor(nowSeconds)))
    if (chainNow < w.readyAt) return undefined
    return await this.serial(async () => {
      const again = await this.vault.withdrawalOf(this.address)
      if (again.amount === 0n) { this.withdrawalPending = false; return undefined }
      const tx = await this.send({ op: 'withdraw-complete', to: this.contracts.CreditVault, data: this.vault.interface.encodeFunctionData('completeWithdrawal') })
      this.withdrawalPending = false
      return { amount: formatFtns(again.amount), tx }
    })
  }

  /** The transactions this wallet sent, newest first. */
  async settlements (): Promise<SettlementView[]> {
    return await this.sender.settlements()
  }

  private provider (): NonNullable<Wallet['provider']> {
    const p = this.wallet.provider
    if (p === null) throw new LedgerError('ERR_CHAIN_UNAVAILABLE', 'the wallet is not connected to a chain')
    return p
  }

  private async serial<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => undefined)
    return await run
  }

  private async send (spec: TxSpec): Promise<string> {
    return await this.sender.send(spec.op, spec.to, spec.data)
  }
}
