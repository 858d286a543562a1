/**
 * The funding check: whether a validated order can still be filled, against chain state read through the contract
 * bindings. Order status (cancelled, units filled), the maker's lane nonce, and what backs the maker's side:
 * - a compute bid (the maker pays): the maker's free vault balance, capped by the lock allowance it gave the market;
 * - a compute ask (the maker provides): nothing on chain (the buyer pays; the hardware check is the node's);
 * - a trade ask (the maker sells FTNS): its FTNS balance, capped by its FTNS allowance for the market;
 * - a trade bid (the maker buys FTNS): its quote-token balance, capped by its quote allowance for the market.
 * An order is refused `unfunded` only when not even its smallest valid fill is backed; the verdict says how many
 * units are. Each read is cached for `ttlMs` (concurrent checks share one read; a failed read is not cached), and
 * `forget` drops what a chain event made stale. RPC failures propagate: they are not the order's fault.
 * `check` judges one order alone; the service shares each maker's source among all its orders (`sourceOf`,
 * `available`, and `allocateFunding` in core/commitments.ts), so several orders cannot count one balance twice.
 * `calls` counts the contract calls made (each cache miss is one or two), for the re-validation's cost.
 */
import type { ContractRunner } from 'ethers'
import { attachComputeMarket, attachCreditVault, attachFTNSToken, BID } from '../contracts/index.js'
import type { ComputeMarketContract, CreditVaultContract } from '../contracts/index.js'
import { smallestFill } from './core/commitments.js'
import { refuse, type Checked } from './errors.js'
import type { ValidOrder } from './protocol/message.js'

/** Where the market's contracts are, and how long a read stays fresh. */
export interface FundingInit {
  market: string
  vault: string
  ftns: string
  /** Milliseconds a cached read is trusted; default 5,000 (about two Polygon blocks). */
  ttlMs?: number
}

/** What the funding check uses: a provider (or any ethers runner that can call), and a clock. */
export interface FundingComponents {
  runner: ContractRunner
  clock?: { now: () => number }
}

/** A funded order's state on chain. */
export interface FundingVerdict {
  /** Units already filled on chain. */
  filled: bigint
  /** Units the contract would still fill. */
  remaining: bigint
  /** Units the maker's balance and allowance back (all of `remaining` for a compute ask). */
  fundedUnits: bigint
  /** Wei the maker must have available for all of `remaining` (0 for a compute ask). */
  needed: bigint
  /** Wei the maker has available (min of balance and allowance); undefined for a compute ask. */
  available?: bigint
}

/** What backs a maker's side of an order: its vault (`token` undefined) or an ERC-20 it holds, and the wei per unit. */
export interface FundingSource {
  /** `<maker>:vault` or `<maker>:<token>` (lower case): orders with one key share one balance. */
  key: string
  maker: string
  token?: string
  perUnit: bigint
}

interface CacheEntry { at: number, value: Promise<unknown> }

const laneKey = (maker: string, lane: bigint): string => `lane:${maker.toLowerCase()}:${lane}`

/** Checks orders against chain state (see the module comment). */
export class FundingChecker {
  private readonly market: ComputeMarketContract
  private readonly vault: CreditVaultContract
  private readonly cache = new Map<string, CacheEntry>()
  private readonly ttlMs: number
  private readonly now: () => number
  private reads = 0
  private rpc = 0

  constructor (private readonly init: FundingInit, private readonly components: FundingComponents) {
    this.market = attachComputeMarket(init.market, components.runner)
    this.vault = attachCreditVault(init.vault, components.runner)
    this.ttlMs = init.ttlMs ?? 5_000
    const clock = components.clock
    this.now = clock !== undefined ? () => clock.now() : () => Date.now()
  }

  /** Chain reads made so far (cache misses), for metrics and tests. */
  get readCount (): number {
    return this.reads
  }

  /** Contract calls made so far (a balance read is two: balance and allowance). */
  get calls (): number {
    return this.rpc
  }

  private cached<T> (key: string, read: () => Promise<T>): Promise<T> {
    const hit = this.cache.get(key)
    const t = this.now()
    if (hit !== undefined && t - hit.at < this.ttlMs) return hit.value as Promise<T>
    this.reads++
    const value = read()
    this.cache.set(key, { at: t, value })
    value.catch(() => { if (this.cache.get(key)?.value === value) this.cache.delete(key) })
    return value
  }

  /** Drops cached reads about an order hash and/or a maker (call on fills, cancels, deposits, approvals). */
  forget (what: { hash?: string, maker?: string } = {}): void {
    if (what.hash === undefined && what.maker === undefined) {
      this.cache.clear()
      return
    }
    const needles = [what.hash?.toLowerCase(), what.maker?.toLowerCase()].filter((x): x is string => x !== undefined)
    for (const key of [...this.cache.keys()]) if (needles.some(n => key.includes(n))) this.cache.delete(key)
  }

  /** The fill record of an order: the contract keeps it per (maker, salt), so it is keyed by both and the hash. */
  private status (hash: string, maker: string, salt: bigint): Promise<{ filled: bigint, cancelled: boolean }> {
    return this.cached(`status:${hash.toLowerCase()}:${maker.toLowerCase()}:${salt}`, async () => {
      this.rpc++
      const s = await this.market.orderStatus(maker, salt)
      return { filled: s.filled, cancelled: s.cancelled }
    })
  }

  private laneNonce (maker: string, lane: bigint): Promise<bigint> {
    return this.cached(laneKey(maker, lane), async () => { this.rpc++; return await this.market.laneNonceOf(maker, lane) })
  }

  private vaultAvailable (maker: string): Promise<bigint> {
    return this.cached(`vault:${maker.toLowerCase()}`, async () => {
      this.rpc += 2
      const [free, allowance] = await Promise.all([this.vault.freeBalanceOf(maker), this.vault.lockAllowance(maker, this.init.market)])
      return free < allowance ? free : allowance
    })
  }

  private tokenAvailable (token: string, maker: string): Promise<bigint> {
    return this.cached(`erc20:${token.toLowerCase()}:${maker.toLowerCase()}`, async () => {
      this.rpc += 2
      // balanceOf and allowance are plain ERC-20: the FTNS binding reads them on any token
      const t = attachFTNSToken(token, this.components.runner)
      const [balance, allowance] = await Promise.all([t.balanceOf(maker), t.allowance(maker, this.init.market)])
      return balance < allowance ? balance : allowance
    })
  }

  /** What backs the maker's side of `v`; undefined for a compute ask (the buyer pays). */
  sourceOf (v: ValidOrder): FundingSource | undefined {
    const maker = v.order.maker.toLowerCase()
    if (v.kind === 'compute') return v.order.side === BID ? { key: `${maker}:vault`, maker, perUnit: v.order.pricePerUnit } : undefined
    const token = (v.order.side === BID ? v.order.quote : this.init.ftns).toLowerCase()
    return { key: `${maker}:${token}`, maker, token, perUnit: v.order.side === BID ? v.order.price : v.order.unitSize }
  }

  /** Wei the source has for the market: min(free vault balance, lock allowance), or min(token balance, allowance). */
  async available (source: FundingSource): Promise<bigint> {
    return source.token === undefined ? await this.vaultAvailable(source.maker) : await this.tokenAvailable(source.token, source.maker)
  }

  /**
   * Whether `v` can be filled now: refused `cancelled`, `lane-stale` (the maker bumped the lane), `lane-ahead` (signed
   * with a nonce the lane had not reached when last read here: the cached read is dropped, a second check reads it
   * again), `filled`, or `unfunded`; otherwise the verdict.
   */
  async check (v: ValidOrder): Promise<Checked<FundingVerdict>> {
    const o = v.order
    const [status, lane] = await Promise.all([this.status(v.hash, o.maker, o.salt), this.laneNonce(o.maker, o.nonceLane)])
    if (status.cancelled) return refuse('cancelled', `order ${v.hash} was cancelled on chain`)
    if (o.laneNonce < lane) return refuse('lane-stale', `order ${v.hash} was signed with lane nonce ${o.laneNonce}; the lane is at ${lane}`)
    if (o.laneNonce > lane) {
      this.cache.delete(laneKey(o.maker, o.nonceLane))
      return refuse('lane-ahead', `order ${v.hash} was signed with lane nonce ${o.laneNonce}; the lane was at ${lane} when read here`)
    }
    const size = v.kind === 'compute' ? v.order.maxUnits : v.order.amount
    const remaining = size > status.filled ? size - status.filled : 0n
    if (remaining === 0n) return refuse('filled', `order ${v.hash} is filled`)
    const source = this.sourceOf(v)
    if (source === undefined) return { ok: true, value: { filled: status.filled, remaining, fundedUnits: remaining, needed: 0n } }
    const perUnit = source.perUnit
    const available = await this.available(source)
    const backed = available / perUnit
    const fundedUnits = backed < remaining ? backed : remaining
    const smallest = smallestFill(remaining, o.minFill)
    const verdict: FundingVerdict = { filled: status.filled, remaining, fundedUnits, needed: remaining * perUnit, available }
    if (fundedUnits < smallest) {
      return refuse('unfunded', `maker ${o.maker} has ${available} wei available; the smallest fill of ${v.hash} needs ${smallest * perUnit}`)
    }
    return { ok: true, value: verdict }
  }
}
