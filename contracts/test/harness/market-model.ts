/**
 * A model of the ComputeMarket driven by random operations that run as real transactions on anvil: makers sign
 * compute and trade orders, takers fill them (alone or several at once), makers cancel orders and lanes, the clock
 * moves. Every outcome is predicted first and compared with the chain after each transaction.
 */
import fc from 'fast-check'
import { parseEther, parseUnits } from 'ethers'
import type { Wallet } from 'ethers'
import { ASK, BID, computeOrderHash, eventsOf, signComputeOrder, signTradeOrder, tradeOrderHash } from '../../../src/ledger/contracts/index.js'
import type { ComputeOrder, TradeOrder } from '../../../src/ledger/contracts/index.js'
import type { LedgerLensContract } from '../bindings/ledger-lens.js'
import type { Anvil, MinedReceipt } from './anvil.js'
import type { Deployment } from './deploy.js'
import { GPU_CLASS } from './orders.js'

/**
 * One random market operation; order indexes are taken modulo the orders made so far. A taker index 0 is the order's
 * maker (a self-fill, refused); others count from the maker. `fit` units are taken modulo what remains of the order.
 */
export type MarketOp =
  | { kind: 'make', compute: boolean, maker: number, side: number, size: number, minFill: number, price: number, lane: number, ttl: number }
  | { kind: 'fill', order: number, taker: number, units: number, fit: boolean }
  | { kind: 'fillMany', taker: number, fills: Array<{ order: number, units: number, fit: boolean }> }
  | { kind: 'cancel', order: number, by: number }
  | { kind: 'cancelLane', maker: number, lane: number }
  | { kind: 'warp', seconds: number }

interface OrderModel {
  compute: boolean
  order: ComputeOrder | TradeOrder
  hash: string
  r: string
  vs: string
  maker: number
  side: number
  size: bigint
  minFill: bigint
  lane: number
  laneNonce: bigint
  filled: bigint
  cancelled: boolean
}

/** What one run observed, for the invariants. */
export interface MarketLog {
  /** Fills accepted for orders that were cancelled or whose lane was bumped (must stay empty). */
  deadFills: number
  /** After each operation: every order's filled units and size. */
  orders: Array<Array<{ filled: bigint, size: bigint }>>
  /** After each operation: FTNS (actors' wallets + the vault) and quote (actors) on chain, and what they started at. */
  totals: Array<{ ftns: bigint, quote: bigint, ftns0: bigint, quote0: bigint }>
  /** Locks opened by compute fills that differ from payer, provider, units x price, fill time + units + grace. */
  badLocks: number
  /** Locks opened by compute fills. */
  locks: number
  /** Fills (units > 0) that succeeded, and ones refused, by kind. */
  fills: { ok: number, refused: number, many: number }
}

const PRICE = parseEther('0.001')
const QUOTE_PRICE = parseUnits('0.01', 6)
const LOT = parseEther('0.1')
const UNIT_SECONDS = 60n

/** The arbitrary of one market operation among `actors` accounts. */
export function marketOp (actors: number): fc.Arbitrary<MarketOp> {
  const who = fc.nat({ max: actors - 1 })
  const units = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 12 }) }, { weight: 1, arbitrary: fc.constant(0) })
  const fit = fc.integer({ min: 0, max: 4 }).map(x => x !== 0)
  const taker = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: actors - 1 }) }, { weight: 1, arbitrary: fc.constant(0) })
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('make' as const),
        compute: fc.boolean(),
        maker: who,
        side: fc.oneof({ weight: 10, arbitrary: fc.constantFrom(ASK, BID) }, { weight: 1, arbitrary: fc.constant(2) }),
        size: fc.integer({ min: 1, max: 20 }),
        minFill: fc.integer({ min: 0, max: 4 }),
        price: fc.integer({ min: 1, max: 50 }),
        lane: fc.nat({ max: 1 }),
        ttl: fc.integer({ min: 1, max: 600 })
      })
    },
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('fill' as const), order: fc.nat(), taker, units, fit }) },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('fillMany' as const), taker: who, fills: fc.array(fc.record({ order: fc.nat(), units, fit }), { minLength: 1, maxLength: 3 })
      })
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), order: fc.nat(), by: who }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancelLane' as const), maker: who, lane: fc.nat({ max: 1 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('warp' as const), seconds: fc.integer({ min: 1, max: 400 }) }) }
  )
}

/** Runs market operations against the chain and the model side by side. */
export class MarketModel {
  t: bigint
  readonly ftns: bigint[]
  readonly quote: bigint[]
  readonly free: bigint[]
  readonly lanes: bigint[][]
  readonly orders: OrderModel[] = []
  readonly log: MarketLog = { deadFills: 0, orders: [], totals: [], fills: { ok: 0, refused: 0, many: 0 }, badLocks: 0, locks: 0 }
  private readonly start: { ftns: bigint, quote: bigint }
  /** Locks the fills of the current operation must open, in order. */
  private expectedLocks: Array<{ payer: string, provider: string, amount: bigint, expiry: bigint }> = []

  constructor (
    private readonly d: Deployment,
    private readonly lens: LedgerLensContract,
    private readonly actors: Wallet[],
    private readonly settlementGrace: bigint,
    state: { t: bigint, ftns: bigint[], quote: bigint[], free: bigint[], vaultBalance: bigint }
  ) {
    this.t = state.t
    this.ftns = [...state.ftns]
    this.quote = [...state.quote]
    this.free = [...state.free]
    this.lanes = actors.map(() => [0n, 0n])
    const sum = (xs: bigint[]): bigint => xs.reduce((a, x) => a + x, 0n)
    this.start = { ftns: sum(this.ftns) + state.vaultBalance, quote: sum(this.quote) }
  }

  /** The timestamp of the last block this run mined (null before the first). */
  private minedAt: bigint | null = null

  private get anvil (): Anvil { return this.d.anvil }

  /** Checks that the chain's clock is where the model put it (the time predictions relied on it). */
  async verifyClock (): Promise<void> {
    if (this.minedAt === null) return
    const latest = await this.anvil.now()
    if (latest !== this.minedAt) throw new Error(`chain time ${latest} is not the model's ${this.minedAt}`)
  }

  private async send (from: number, tx: Parameters<Anvil['exec']>[1]): Promise<MinedReceipt | null> {
    // the chain mines each block 1 s after the last (anvil_setBlockTimestampInterval 1): set the time only after a jump
    if (this.minedAt === null || this.t !== this.minedAt + 1n) await this.anvil.rpc('evm_setNextBlockTimestamp', [Number(this.t)])
    this.minedAt = this.t
    this.t += 1n
    try {
      return await this.anvil.exec(this.actors[from].address, tx, { gas: 5_000_000n })
    } catch (err) {
      if (err instanceof Error && err.name === 'TxError') return null
      throw err
    }
  }

  /** Whether `units` of order `o` can be filled by `taker` now, given the model state `s` (updated on success). */
  private tryFill (o: OrderModel, taker: number, units: bigint, now: bigint, s: { ftns: bigint[], quote: bigint[], free: bigint[], filled: Map<OrderModel, bigint> }): boolean {
    const filled = s.filled.get(o) ?? o.filled
    const remaining = o.size - filled
    if (o.side > BID || units === 0n || taker === o.maker || now > o.order.expiry) return false
    if (this.lanes[o.maker][o.lane] !== o.laneNonce || o.cancelled) return false
    if (units > remaining || (units < o.minFill && units !== remaining)) return false
    if (o.compute) {
      const c = o.order as ComputeOrder
      if (now < c.windowStart || now + units * UNIT_SECONDS > c.windowEnd) return false
      const payer = o.side === ASK ? taker : o.maker
      const amount = units * c.pricePerUnit
      if (s.free[payer] < amount) return false
      s.free[payer] -= amount
      const provider = o.side === ASK ? o.maker : taker
      this.expectedLocks.push({
        payer: this.actors[payer].address, provider: this.actors[provider].address, amount, expiry: now + units * UNIT_SECONDS + this.settlementGrace
      })
    } else {
      const t = o.order as TradeOrder
      const [seller, buyer] = o.side === ASK ? [o.maker, taker] : [taker, o.maker]
      const ftns = units * t.unitSize
      const quote = units * t.price
      if (s.ftns[seller] < ftns || s.quote[buyer] < quote) return false
      s.ftns[seller] -= ftns
      s.ftns[buyer] += ftns
      s.quote[buyer] -= quote
      s.quote[seller] += quote
    }
    s.filled.set(o, filled + units)
    return true
  }

  /** The units of a fill: `units` as drawn, or (`fit`) within what remains of the order. */
  private units (o: OrderModel, units: number, fit: boolean): bigint {
    const remaining = o.size - o.filled
    if (!fit || units === 0 || remaining <= 0n) return BigInt(units)
    return 1n + BigInt(units) % remaining
  }

  private commit (s: { ftns: bigint[], quote: bigint[], free: bigint[], filled: Map<OrderModel, bigint> }): void {
    this.ftns.splice(0, this.ftns.length, ...s.ftns)
    this.quote.splice(0, this.quote.length, ...s.quote)
    this.free.splice(0, this.free.length, ...s.free)
    for (const [o, f] of s.filled) o.filled = f
  }

  private scratch (): { ftns: bigint[], quote: bigint[], free: bigint[], filled: Map<OrderModel, bigint> } {
    return { ftns: [...this.ftns], quote: [...this.quote], free: [...this.free], filled: new Map() }
  }

  private expect (op: MarketOp, predicted: boolean, receipt: MinedReceipt | null): void {
    if (predicted !== (receipt !== null)) {
      throw new Error(`model predicted ${predicted ? 'success' : 'revert'} for ${JSON.stringify(op)}`)
    }
  }

  /** Runs one operation and updates the model; throws when the chain disagrees with the prediction. */
  async apply (op: MarketOp): Promise<void> {
    const m = this.d.market
    const now = this.t
    this.expectedLocks = []
    switch (op.kind) {
      case 'make': {
        const base = {
          maker: this.actors[op.maker].address,
          side: op.side,
          minFill: BigInt(op.minFill),
          expiry: now + BigInt(op.ttl),
          salt: BigInt(this.orders.length + 1),
          nonceLane: BigInt(op.lane),
          // now and then sign with a lane nonce that is not the current one
          laneNonce: this.lanes[op.maker][op.lane] + (op.ttl % 13 === 0 ? 1n : 0n)
        }
        let order: ComputeOrder | TradeOrder
        let sig
        let hash
        if (op.compute) {
          order = { ...base, resourceClass: GPU_CLASS, pricePerUnit: PRICE * BigInt(op.price), maxUnits: BigInt(op.size), windowStart: op.ttl % 5 === 0 ? now + 30n : now - 10n, windowEnd: now + 1200n }
          sig = await signComputeOrder(this.actors[op.maker], this.d.marketDomain, order)
          hash = computeOrderHash(this.d.marketDomain, order)
        } else {
          order = { ...base, quote: this.d.addresses.quote, unitSize: LOT, price: QUOTE_PRICE * BigInt(op.price), amount: BigInt(op.size) }
          sig = await signTradeOrder(this.actors[op.maker], this.d.marketDomain, order)
          hash = tradeOrderHash(this.d.marketDomain, order)
        }
        this.orders.push({ compute: op.compute, order, hash, r: sig.r, vs: sig.vs, maker: op.maker, side: op.side, size: BigInt(op.size), minFill: BigInt(op.minFill), lane: op.lane, laneNonce: base.laneNonce, filled: 0n, cancelled: false })
        return
      }
      case 'fill': {
        if (this.orders.length === 0) return
        const o = this.orders[op.order % this.orders.length]
        const units = this.units(o, op.units, op.fit)
        const taker = (o.maker + op.taker) % this.actors.length
        const s = this.scratch()
        const ok = this.tryFill(o, taker, units, now, s)
        const tx = o.compute
          ? m.fillCompute.populateTransaction(o.order as ComputeOrder, o.r, o.vs, units)
          : m.fillTrade.populateTransaction(o.order as TradeOrder, o.r, o.vs, units)
        const receipt = await this.send(taker, tx)
        this.expect(op, ok, receipt)
        if (receipt !== null) {
          if (o.cancelled || this.lanes[o.maker][o.lane] !== o.laneNonce) this.log.deadFills++
          this.observeLocks(receipt)
          this.commit(s)
          this.log.fills.ok++
        } else this.log.fills.refused++
        break
      }
      case 'fillMany': {
        if (this.orders.length === 0) return
        // mostly other makers' orders (a taker's own order is a refused self-fill)
        const others = this.orders.filter(o => o.maker !== op.taker)
        const pool = others.length > 0 ? others : this.orders
        const picked = op.fills.map(f => {
          const o = f.fit ? pool[f.order % pool.length] : this.orders[f.order % this.orders.length]
          return { o, units: this.units(o, f.units, f.fit) }
        })
        // the contract runs the compute fills first, then the trades
        const ordered = [...picked.filter(p => p.o.compute), ...picked.filter(p => !p.o.compute)]
        const s = this.scratch()
        let ok = true
        for (const p of ordered) if (!this.tryFill(p.o, op.taker, p.units, now, s)) ok = false
        const compute = ordered.filter(p => p.o.compute).map(p => ({ order: p.o.order as ComputeOrder, r: p.o.r, vs: p.o.vs, units: p.units }))
        const trades = ordered.filter(p => !p.o.compute).map(p => ({ order: p.o.order as TradeOrder, r: p.o.r, vs: p.o.vs, units: p.units }))
        const receipt = await this.send(op.taker, m.fillMany.populateTransaction(compute, trades))
        this.expect(op, ok, receipt)
        if (receipt !== null) {
          for (const p of ordered) if (p.o.cancelled || this.lanes[p.o.maker][p.o.lane] !== p.o.laneNonce) this.log.deadFills++
          this.observeLocks(receipt)
          this.commit(s)
          this.log.fills.many++
        } else this.log.fills.refused++
        break
      }
      case 'cancel': {
        if (this.orders.length === 0) return
        const o = this.orders[op.order % this.orders.length]
        // mostly the maker; sometimes someone else, who must be refused
        const by = op.by === 0 ? (o.maker + 1) % this.actors.length : o.maker
        const tx = o.compute ? m.cancelCompute.populateTransaction(o.order as ComputeOrder) : m.cancelTrade.populateTransaction(o.order as TradeOrder)
        const receipt = await this.send(by, tx)
        this.expect(op, by === o.maker, receipt)
        if (receipt !== null) o.cancelled = true
        break
      }
      case 'cancelLane': {
        const receipt = await this.send(op.maker, m.cancelLane.populateTransaction(BigInt(op.lane)))
        this.expect(op, true, receipt)
        this.lanes[op.maker][op.lane] += 1n
        break
      }
      case 'warp':
        this.t += BigInt(op.seconds)
        return
    }
    await this.check()
  }

  /** Compares the locks a successful fill opened with those the model expects. */
  private observeLocks (receipt: MinedReceipt): void {
    const opened = eventsOf(this.d.vault, receipt, 'LockOpened').map(e => ({ payer: e.payer, provider: e.provider, amount: e.amount, expiry: e.expiry }))
    this.log.locks += opened.length
    const show = (x: unknown): string => JSON.stringify(x, (_, v: unknown) => typeof v === 'bigint' ? v.toString() : v)
    if (show(opened) !== show(this.expectedLocks)) this.log.badLocks++
  }

  /** Compares the chain with the model, and records the invariants' inputs. */
  async check (): Promise<void> {
    const s = await this.lens.readMarket(this.d.addresses.market, this.d.addresses.quote, this.actors.map(a => a.address), this.orders.map(o => o.order.maker), this.orders.map(o => o.order.salt))
    const chain = { ftns: [...s.ftns], quote: [...s.quote], free: [...s.free], filled: [...s.filled], cancelled: [...s.cancelled] }
    const model = { ftns: this.ftns, quote: this.quote, free: this.free, filled: this.orders.map(o => o.filled), cancelled: this.orders.map(o => o.cancelled) }
    const show = (x: unknown): string => JSON.stringify(x, (_, v: unknown) => typeof v === 'bigint' ? v.toString() : v)
    if (show(chain) !== show(model)) throw new Error(`chain and model differ:\nchain ${show(chain)}\nmodel ${show(model)}`)
    const sum = (xs: readonly bigint[]): bigint => xs.reduce((a, x) => a + x, 0n)
    this.log.orders.push(this.orders.map(o => ({ filled: o.filled, size: o.size })))
    this.log.totals.push({ ftns: sum(chain.ftns) + s.vaultBalance, quote: sum(chain.quote), ftns0: this.start.ftns, quote0: this.start.quote })
  }
}
