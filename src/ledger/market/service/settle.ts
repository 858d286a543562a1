/**
 * Settlement: this node's fills, cancellations and the approvals they need, as chain-client intents (persisted before
 * anything is sent, exactly once per id). Several orders go in one `fillMany` transaction, all or none. A fill that
 * the chain refuses is explained: the orders are re-read on chain, so a lost race says `filled` or `overfill`, a
 * cancelled order `cancelled`, and so on; what cannot be pinned down is `tx-failed` with the contract's error.
 */
import { randomUUID } from 'node:crypto'
import { MaxUint256, Signature } from 'ethers'
import { attachComputeMarket, attachCreditVault, attachFTNSToken, ASK, type ComputeMarketContract } from '../../contracts/index.js'
import type { ChainClient } from '../../chain/index.js'
import type { LedgerChain } from '../../service.js'
import { MarketError, type RefusalReason } from '../errors.js'
import type { FundingChecker } from '../funding.js'
import type { ValidOrder } from '../protocol/message.js'

/** One order of a fill and the units taken from it. */
export interface FillItem { v: ValidOrder, units: bigint }

/** The contract's errors, by name, as refusal reasons. */
const REVERTS: Record<string, RefusalReason> = {
  Overfill: 'overfill',
  OrderCancelledAlready: 'cancelled',
  LaneNonceStale: 'lane-stale',
  OrderExpired: 'expired',
  BelowMinFill: 'below-min-fill',
  SelfFill: 'self-fill',
  OutsideWindow: 'outside-window',
  InvalidSignature: 'bad-signature',
  InsufficientFreeBalance: 'taker-unfunded',
  InsufficientLockAllowance: 'taker-unfunded',
  NotMaker: 'not-maker'
}

function split (signature: string): { r: string, vs: string } {
  const s = Signature.from(signature)
  return { r: s.r, vs: s.yParityAndS }
}

/** The settlement side of the market service (one per ready ledger). */
export class Settlement {
  private readonly market: ComputeMarketContract
  private readonly client: ChainClient

  constructor (private readonly chain: LedgerChain, private readonly funding: FundingChecker) {
    if (chain.client === undefined) throw new MarketError('not-ready', 'the ledger runs without a settlement store')
    this.client = chain.client
    this.market = attachComputeMarket(chain.contracts.ComputeMarket, chain.provider)
  }

  get address (): string { return this.chain.wallet.address }

  private async send (kind: string, id: string, to: string, data: string): Promise<string> {
    const r = await this.client.settle({ id, kind, to, data, proof: { type: 'nonce' } })
    return r.receipt?.hash ?? r.txs[r.txs.length - 1]?.hash ?? ''
  }

  /** What the taker pays with, per item: vault FTNS (compute asks), quote (trade asks), FTNS (trade bids). */
  private async ensureTakerFunds (items: FillItem[]): Promise<void> {
    const need = new Map<string, bigint>()
    const add = (k: string, v: bigint): void => { need.set(k, (need.get(k) ?? 0n) + v) }
    for (const { v, units } of items) {
      if (v.kind === 'compute') { if (v.order.side === ASK) add('vault', units * v.order.pricePerUnit) } else if (v.order.side === ASK) add(`erc20:${v.order.quote}`, units * v.order.price)
      else add(`erc20:${this.chain.contracts.FTNSToken}`, units * v.order.unitSize)
    }
    for (const [k, amount] of need) await this.ensureFunds(k === 'vault' ? 'vault' : k.slice('erc20:'.length), amount, true)
  }

  /**
   * Makes sure the market may take `amount` from this wallet: the vault's lock allowance (`vault`) or a token's
   * allowance, approved once for everything (MaxUint256) when short. With `check`, refuses `taker-unfunded` when the
   * vault's free balance or the token balance is short.
   */
  async ensureFunds (what: 'vault' | string, amount: bigint, check: boolean): Promise<void> {
    const me = this.address
    const market = this.chain.contracts.ComputeMarket
    if (what === 'vault') {
      const vault = attachCreditVault(this.chain.contracts.CreditVault, this.chain.provider)
      const free = await vault.freeBalanceOf(me)
      if (check && free < amount) throw new MarketError('taker-unfunded', `the fill costs ${amount} FTNS wei from the vault; ${free} is free (deposit first)`)
      if (await vault.lockAllowance(me, market) < amount) {
        await this.send('market-approve', `market-approve:vault:${randomUUID()}`, vault.target.toString(), vault.interface.encodeFunctionData('approveLocker', [market, MaxUint256]))
      }
      return
    }
    const token = attachFTNSToken(what, this.chain.provider)
    const balance = await token.balanceOf(me)
    if (check && balance < amount) throw new MarketError('taker-unfunded', `the fill needs ${amount} base units of token ${what}; the wallet holds ${balance}`)
    if (await token.allowance(me, market) < amount) {
      await this.send('market-approve', `market-approve:${what}:${randomUUID()}`, what, token.interface.encodeFunctionData('approve', [market, MaxUint256]))
    }
  }

  /**
   * Fills `items` in one transaction; returns its hash. Throws a MarketError with the reason when the chain refuses.
   * The maker's side (its balance and allowance) is the maker's: the contract reverts and the reason says so.
   */
  async fill (items: FillItem[]): Promise<string> {
    await this.ensureTakerFunds(items)
    const compute = items.filter(i => i.v.kind === 'compute').map(({ v, units }) => ({ order: v.order, ...split(v.message.signature), units }))
    const trade = items.filter(i => i.v.kind === 'trade').map(({ v, units }) => ({ order: v.order, ...split(v.message.signature), units }))
    const data = items.length === 1
      ? (items[0].v.kind === 'compute'
          ? this.market.interface.encodeFunctionData('fillCompute', [compute[0].order, compute[0].r, compute[0].vs, compute[0].units])
          : this.market.interface.encodeFunctionData('fillTrade', [trade[0].order, trade[0].r, trade[0].vs, trade[0].units]))
      : this.market.interface.encodeFunctionData('fillMany', [compute, trade])
    try {
      return await this.send('market-fill', `market-fill:${items[0].v.hash}:${randomUUID()}`, this.chain.contracts.ComputeMarket, data)
    } catch (err) {
      throw await this.explain(items, err)
    }
  }

  /** Why a fill failed: the orders' state on chain first (a lost race, a cancel), then the contract's error name. */
  private async explain (items: FillItem[], err: unknown): Promise<MarketError> {
    const text = (err as Error).message ?? String(err)
    for (const { v, units } of items) {
      this.funding.forget({ hash: v.hash, maker: v.order.maker })
      const c = await this.funding.check(v).catch(() => undefined)
      if (c === undefined) continue
      if (!c.ok) return new MarketError(c.refusal.reason, `order ${v.hash}: ${c.refusal.message}`, { cause: err })
      if (c.value.remaining < units) return new MarketError('overfill', `order ${v.hash} has ${c.value.remaining} units left; the fill asked for ${units} (another taker was first)`, { cause: err })
    }
    const name = Object.keys(REVERTS).find(n => text.includes(n))
    if (name !== undefined) return new MarketError(REVERTS[name], `the contract refused the fill: ${name}`, { cause: err })
    return new MarketError('tx-failed', `the fill failed: ${text.split('\n')[0].slice(0, 200)}`, { cause: err })
  }

  /** Cancels one of this node's orders on chain; returns the transaction hash. */
  async cancel (v: ValidOrder): Promise<string> {
    if (v.order.maker.toLowerCase() !== this.address.toLowerCase()) throw new MarketError('not-maker', `order ${v.hash} was made by ${v.order.maker}, not this node's wallet`)
    const data = v.kind === 'compute'
      ? this.market.interface.encodeFunctionData('cancelCompute', [v.order])
      : this.market.interface.encodeFunctionData('cancelTrade', [v.order])
    return await this.send('market-cancel', `market-cancel:${v.hash}`, this.chain.contracts.ComputeMarket, data)
  }

  /** Cancels every order of this node's wallet on `lane` (bumps its nonce); returns the hash and the new nonce. */
  async cancelLane (lane: bigint): Promise<{ tx: string, newNonce: bigint }> {
    const data = this.market.interface.encodeFunctionData('cancelLane', [lane])
    const tx = await this.send('market-cancel-lane', `market-cancel-lane:${lane}:${randomUUID()}`, this.chain.contracts.ComputeMarket, data)
    return { tx, newNonce: await this.market.laneNonceOf(this.address, lane) }
  }

  /** The lane nonce this node's new orders on `lane` must carry. */
  async laneNonce (lane: bigint): Promise<bigint> {
    return await this.market.laneNonceOf(this.address, lane)
  }
}
