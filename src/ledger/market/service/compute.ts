/**
 * Compute fills run jobs, paid by the unit. A compute fill opens a CreditVault lock (payer = buyer, provider = the
 * ask's maker). The buyer's node then asks the provider's node, over `/meshnode/market-compute/1.0.0`, to start the
 * job the buyer described in its fill request (a training job: model spec + dataset), signed by the buyer's wallet.
 * The provider checks the lock on chain (it pays this node, is open, covers the units) and starts the job through the
 * node's `ComputeRunner` port (training; the market never imports it). Metering: one unit = `computeUnitMs` (a minute by
 * default). The buyer signs a cumulative voucher on the lock after every unit (the rewards' signing path) and sends it;
 * the provider keeps the highest valid one (the rewards' `receive`: signature, open lock, replays and lower amounts
 * ignored), stops the job once two units go without a voucher or the units are used up, and redeems through the
 * rewards' batched `redeem` (forced when the job ends). Whatever no voucher covers returns to the buyer when the lock
 * expires: the provider's node releases it then (anyone may, after the expiry).
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { decode, encode } from 'cborg'
import { Interface, getAddress, keccak256, verifyMessage } from 'ethers'
import type { EventSink } from '../../../common/events.js'
import type { Logger } from '../../../common/logger.js'
import { attachCreditVault, computeMarketAbi, creditVaultAbi, lockIdOf } from '../../contracts/index.js'
import type { LedgerChain } from '../../service.js'
import { meterStep } from '../core/metering.js'
import type { MarketEvents } from './events.js'
import type { ComputeJobView } from './views.js'

/** The protocol between a buyer's node and a provider's node. */
export const MARKET_COMPUTE_PROTOCOL = '/meshnode/market-compute/1.0.0'

/** A voucher as it travels (wei amounts as decimal strings; the payer's compact signature). */
export interface ComputeVoucher { payer: string, provider: string, salt: string, cumulativeAmount: string, r: string, vs: string }

/** The vouchers port (the ledger's `LedgerRewards`: one signing, checking and batched redemption path). */
export interface VoucherBook {
  voucherFor: (provider: string, salt: bigint, cumulativeAmount: bigint) => Promise<ComputeVoucher>
  receive: (v: ComputeVoucher) => Promise<boolean>
  redeem: (opts?: { force?: boolean }) => Promise<void>
}

/** The job port (training, wired by the node): start the buyer's job here, stop it. */
export interface ComputeRunner {
  start: (job: Record<string, unknown>) => Promise<string>
  stop: (jobId: string) => Promise<void>
}

/** What compute jobs use of the node and the market. */
export interface ComputeJobsComponents {
  libp2p: { handle: (p: string, h: (s: Stream, c: Connection) => void, o?: { maxInboundStreams?: number }) => Promise<void>, unhandle: (p: string) => Promise<void>, dialProtocol: (peer: PeerId, p: string, o: { signal: AbortSignal }) => Promise<Stream> }
  chain: () => LedgerChain | undefined
  vouchers?: VoucherBook
  runner?: ComputeRunner
  events: EventSink<MarketEvents>
  logger: Logger
}

interface Job extends ComputeJobView { salt: bigint, startedAt: number, peerId: string, priceWei: bigint, amountWei: bigint, expiry: number, timer?: NodeJS.Timeout, nextCheck?: number, ending?: boolean }

const vaultIface = new Interface(creditVaultAbi)
const marketIface = new Interface(computeMarketAbi)
const TIMEOUT_MS = 20_000
/** At most this long between two chain reads of a finished job's lock (one unit, when shorter). */
const RELEASE_CHECK_MS = 30_000
// over the job's canonical CBOR (cborg sorts map keys), so both sides hash the same bytes
const startText = (lockId: string, job: Record<string, unknown>): string => `meshnode compute start ${lockId} ${keccak256(encode(job))}`

/** Compute jobs of this node, as buyer and as provider, keyed by lock id. */
export class ComputeJobs {
  private readonly jobs = new Map<string, Job>()
  private tick?: NodeJS.Timeout
  private busy = false

  constructor (private readonly c: ComputeJobsComponents, private readonly unitMs: number) {}

  async start (): Promise<void> {
    await this.c.libp2p.handle(MARKET_COMPUTE_PROTOCOL, (s, conn) => { void this.serve(s, conn.remotePeer.toString()) }, { maxInboundStreams: 16 })
    this.tick = setInterval(() => { void this.meter() }, Math.max(50, Math.min(1000, Math.floor(this.unitMs / 4))))
    this.tick.unref()
  }

  async stop (): Promise<void> {
    clearInterval(this.tick)
    for (const j of this.jobs.values()) clearInterval(j.timer)
    await this.c.libp2p.unhandle(MARKET_COMPUTE_PROTOCOL).catch(() => {})
  }

  /** The jobs of the fill with transaction `tx`. */
  viewsOf (tx: string | null): ComputeJobView[] {
    if (tx === null) return []
    return [...this.jobs.values()].filter(j => j.fillTx === tx).map(j => this.view(j))
  }

  private view (j: Job): ComputeJobView {
    const { salt, startedAt, peerId, priceWei, amountWei, expiry, timer, nextCheck, ending, ...v } = j
    return { ...v }
  }

  private emit (j: Job): void {
    this.c.events.emit('market.compute', this.view(j))
  }

  // ---------------------------------------------------------------- buyer

  /**
   * After a fill this node took: for each compute ask it filled, start `job` on the ask's provider node and pay it by
   * the unit. `orders` maps each filled order hash to its provider's peer id and price.
   */
  async buy (tx: string, job: Record<string, unknown>, orders: Map<string, { peer: string, price: bigint }>): Promise<void> {
    const h = this.need()
    const receipt = await h.provider.getTransactionReceipt(tx)
    if (receipt === null) throw new Error(`no receipt for fill ${tx}`)
    const opened = new Map<string, { salt: bigint, amount: bigint, provider: string, expiry: number }>()
    const filled: Array<{ hash: string, lockId: string, units: bigint }> = []
    for (const log of receipt.logs) {
      const addr = log.address.toLowerCase()
      if (addr === h.contracts.CreditVault.toLowerCase()) {
        const p = vaultIface.parseLog(log)
        if (p?.name === 'LockOpened') opened.set(String(p.args.lockId), { salt: BigInt(p.args.salt), amount: BigInt(p.args.amount), provider: String(p.args.provider), expiry: Number(p.args.expiry) })
      } else if (addr === h.contracts.ComputeMarket.toLowerCase()) {
        const p = marketIface.parseLog(log)
        if (p?.name === 'ComputeFilled') filled.push({ hash: String(p.args.orderHash), lockId: String(p.args.lockId), units: BigInt(p.args.units) })
      }
    }
    for (const f of filled) {
      const o = orders.get(f.hash) ?? orders.get(f.hash.toLowerCase())
      const lock = opened.get(f.lockId)
      if (o === undefined || lock === undefined) continue
      const j: Job = {
        role: 'buyer', lockId: f.lockId, fillTx: tx, peer: o.peer, peerId: o.peer, payer: getAddress(h.wallet.address), provider: getAddress(lock.provider),
        units: f.units.toString(), price: o.price.toString(), unitMs: this.unitMs, state: 'starting', reason: null, jobId: null,
        unitsRun: 0, vouchers: 0, covered: '0', redeemed: '0', refunded: null,
        salt: lock.salt, startedAt: Date.now(), priceWei: o.price, amountWei: lock.amount, expiry: lock.expiry
      }
      this.jobs.set(j.lockId, j)
      await this.open(j, job)
    }
  }

  private async open (j: Job, job: Record<string, unknown>): Promise<void> {
    const h = this.need()
    try {
      const auth = await h.wallet.signMessage(startText(j.lockId, job))
      const r = await this.ask(j.peerId, { type: 'start', lockId: j.lockId, payer: j.payer, salt: j.salt.toString(), units: j.units, tx: j.fillTx, job, auth })
      if (r.ok !== true) throw new Error(typeof r.error === 'string' ? r.error : 'the provider refused the job')
      j.jobId = typeof r.jobId === 'string' ? r.jobId : null
      j.state = 'running'
      j.startedAt = Date.now()
      j.timer = setInterval(() => { void this.pay(j) }, this.unitMs)
      j.timer.unref()
    } catch (err) {
      j.state = 'failed'
      j.reason = (err as Error).message.slice(0, 200)
    }
    this.emit(j)
  }

  /** One unit went by: sign and send the voucher for every unit so far (cumulative). */
  private async pay (j: Job): Promise<void> {
    if (j.state !== 'running') { clearInterval(j.timer); return }
    const units = BigInt(j.units)
    const n = BigInt(j.unitsRun + 1) > units ? units : BigInt(j.unitsRun + 1)
    j.unitsRun = Number(n)
    try {
      const v = await this.book().voucherFor(j.provider, j.salt, n * j.priceWei)
      j.vouchers++
      j.covered = v.cumulativeAmount
      const r = await this.ask(j.peerId, { type: 'voucher', lockId: j.lockId, voucher: v })
      if (r.state === 'done' || r.state === 'stopped' || n === units) {
        j.state = n === units ? 'done' : String(r.state) as Job['state']
        j.reason = typeof r.reason === 'string' ? r.reason : 'complete'
        clearInterval(j.timer)
      }
    } catch (err) {
      this.c.logger.debug({ lockId: j.lockId, err: (err as Error).message }, 'compute voucher not delivered')
      if (n === units) { j.state = 'done'; j.reason = 'complete'; clearInterval(j.timer) }
    }
    this.emit(j)
  }

  private need (): LedgerChain {
    const h = this.c.chain()
    if (h === undefined) throw new Error('the ledger is not ready')
    return h
  }

  private book (): VoucherBook {
    if (this.c.vouchers === undefined) throw new Error('this node has no voucher book')
    return this.c.vouchers
  }

  private async ask (peer: string, msg: Record<string, unknown>): Promise<Record<string, unknown>> {
    const signal = AbortSignal.timeout(TIMEOUT_MS)
    const stream = await this.c.libp2p.dialProtocol(peerIdFromString(peer), MARKET_COMPUTE_PROTOCOL, { signal })
    try {
      const lp = lpStream(stream, { maxDataLength: 64 * 1024 })
      await lp.write(encode(msg), { signal })
      const r: unknown = decode((await lp.read({ signal })).subarray())
      return typeof r === 'object' && r !== null ? r as Record<string, unknown> : {}
    } finally {
      await stream.close().catch(() => { stream.abort(new Error('close failed')) })
    }
  }

  // ---------------------------------------------------------------- provider

  private async serve (stream: Stream, from: string): Promise<void> {
    const signal = AbortSignal.timeout(TIMEOUT_MS)
    try {
      const lp = lpStream(stream, { maxDataLength: 64 * 1024 })
      const msg: unknown = decode((await lp.read({ signal })).subarray())
      const m = typeof msg === 'object' && msg !== null ? msg as Record<string, unknown> : {}
      const reply = await this.handle(m, from).catch((err: Error) => ({ ok: false, error: err.message.slice(0, 200) }))
      await lp.write(encode(reply), { signal })
      await stream.close()
    } catch (err) {
      stream.abort(err as Error)
    }
  }

  private async handle (m: Record<string, unknown>, from: string): Promise<Record<string, unknown>> {
    if (m.type === 'start') return await this.onStart(m, from)
    if (m.type === 'voucher') return await this.onVoucher(m)
    return { ok: false, error: 'unknown message' }
  }

  /** The buyer asks for its job: the lock must pay this node, be open and unexpired, and the request be the payer's. */
  private async onStart (m: Record<string, unknown>, from: string): Promise<Record<string, unknown>> {
    const h = this.need()
    const lockId = String(m.lockId)
    const known = this.jobs.get(lockId)
    if (known !== undefined) return { ok: known.state !== 'failed', jobId: known.jobId, error: known.reason }
    const job = typeof m.job === 'object' && m.job !== null && !Array.isArray(m.job) ? m.job as Record<string, unknown> : undefined
    if (job === undefined || this.c.runner === undefined) return { ok: false, error: this.c.runner === undefined ? 'this node runs no compute jobs' : 'no job described' }
    const payer = getAddress(String(m.payer))
    const me = getAddress(h.wallet.address)
    const salt = BigInt(String(m.salt))
    const units = BigInt(String(m.units))
    if (lockIdOf(payer, me, salt) !== lockId) return { ok: false, error: 'the lock does not pay this node' }
    if (verifyMessage(startText(lockId, job), String(m.auth)) !== payer) return { ok: false, error: 'the request is not signed by the lock\'s payer' }
    const lock = await attachCreditVault(h.contracts.CreditVault, h.provider).getLock(lockId)
    if (lock.amount === 0n || lock.closed || units <= 0n || lock.amount % units !== 0n) return { ok: false, error: 'no open lock for these units' }
    const j: Job = {
      role: 'provider', lockId, fillTx: typeof m.tx === 'string' ? m.tx : null, peer: from, peerId: from, payer, provider: me,
      units: units.toString(), price: (lock.amount / units).toString(), unitMs: this.unitMs, state: 'starting', reason: null, jobId: null,
      unitsRun: 0, vouchers: 0, covered: '0', redeemed: '0', refunded: null,
      salt, startedAt: Date.now(), priceWei: lock.amount / units, amountWei: lock.amount, expiry: Number(lock.expiry)
    }
    this.jobs.set(lockId, j)
    try {
      j.jobId = await this.c.runner.start(job)
      j.state = 'running'
      j.startedAt = Date.now()
    } catch (err) {
      j.state = 'failed'
      j.reason = (err as Error).message.slice(0, 200)
    }
    this.emit(j)
    return { ok: j.state === 'running', jobId: j.jobId, error: j.reason }
  }

  /** A voucher of a running job: kept when valid and higher than the last (the rewards' checks). */
  private async onVoucher (m: Record<string, unknown>): Promise<Record<string, unknown>> {
    const j = this.jobs.get(String(m.lockId))
    const v = m.voucher as ComputeVoucher | undefined
    if (j === undefined || j.role !== 'provider' || v === undefined) return { ok: false, error: 'no such job' }
    if (j.state === 'running' && j.ending !== true && getAddress(String(v.payer)) === j.payer && BigInt(String(v.salt)) === j.salt && BigInt(String(v.cumulativeAmount)) <= j.amountWei && await this.book().receive(v)) {
      j.vouchers++
      j.covered = v.cumulativeAmount
      this.emit(j)
      void this.book().redeem().catch((err: Error) => { this.c.logger.debug({ err: err.message }, 'compute redemption deferred') })
    }
    return { ok: true, state: j.state, reason: j.reason, unitsRun: j.unitsRun }
  }

  /** The provider's meter: units run, missed vouchers, the end of the job, the lock's release after its expiry. */
  private async meter (): Promise<void> {
    if (this.busy) return
    this.busy = true
    try {
      for (const j of this.jobs.values()) {
        if (j.role !== 'provider') continue
        if (j.state === 'running' && j.ending !== true) {
          const m = meterStep((Date.now() - j.startedAt) / this.unitMs, Number(j.units), Number(BigInt(j.covered) / j.priceWei))
          j.unitsRun = m.unitsRun
          if (m.action === 'done') await this.finish(j, 'done', 'complete')
          else if (m.action === 'stop') await this.finish(j, 'stopped', 'missed-vouchers')
        } else if ((j.state === 'done' || j.state === 'stopped') && j.refunded === null) {
          await this.release(j)
        }
      }
    } catch (err) {
      this.c.logger.debug({ err: (err as Error).message }, 'compute meter')
    } finally {
      this.busy = false
    }
  }

  private async finish (j: Job, state: 'done' | 'stopped', reason: string): Promise<void> {
    // no vouchers taken while it ends; the state changes once the redemption is on chain (views show the final amount)
    j.ending = true
    if (j.jobId !== null) await this.c.runner?.stop(j.jobId).catch(() => {})
    try {
      await this.book().redeem({ force: true })
      const lock = await attachCreditVault(this.need().contracts.CreditVault, this.need().provider).getLock(j.lockId)
      j.redeemed = lock.redeemed.toString()
    } catch (err) {
      this.c.logger.warn({ lockId: j.lockId, err: (err as Error).message }, 'compute redemption failed; retried at expiry')
    }
    j.state = state
    j.reason = reason
    this.c.logger.info({ lockId: j.lockId, state, reason, unitsRun: j.unitsRun, redeemed: j.redeemed }, 'compute job over')
    this.emit(j)
  }

  /** After the lock's expiry, release it: what no voucher covered returns to the buyer's free balance. */
  private async release (j: Job): Promise<void> {
    // a chain read every few seconds per finished job, not every tick (a real lock expires an hour after its units)
    if ((j.nextCheck ?? 0) > Date.now()) return
    j.nextCheck = Date.now() + Math.min(this.unitMs, RELEASE_CHECK_MS)
    const h = this.need()
    const block = await h.provider.getBlock('latest')
    if (block === null || block.timestamp <= j.expiry) return
    const vault = attachCreditVault(h.contracts.CreditVault, h.provider)
    const lock = await vault.getLock(j.lockId)
    j.redeemed = lock.redeemed.toString()
    if (!lock.closed && lock.redeemed < lock.amount && h.client !== undefined) {
      await h.client.settle({ id: `compute-release:${j.lockId}`, kind: 'compute-release', to: h.contracts.CreditVault, data: vault.interface.encodeFunctionData('release', [j.payer, j.provider, j.salt]), proof: { type: 'nonce' } })
    }
    j.refunded = (lock.amount - lock.redeemed).toString()
    this.emit(j)
  }
}
