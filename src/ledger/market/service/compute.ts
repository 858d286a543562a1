/**
 * Compute fills run jobs, paid by the unit. A compute fill opens a CreditVault lock (payer = buyer, provider = the
 * ask's maker). The buyer's node then asks the provider's node, over `/meshnode/market-compute/1.0.0`, to start the
 * job the buyer described in its fill request (a training job: model spec + a built-in dataset, or the buyer's own as
 * an artifact CID: compute-dataset.ts), signed by the buyer's wallet. The provider checks the lock on chain (it pays
 * this node, is open, covers the units) and starts the job through the node's `ComputeRunner` port (training; the
 * market never imports it). One unit = `computeUnitMs` (a minute by default); after each, the buyer signs a cumulative
 * voucher on the lock (the rewards' path). The provider keeps the highest (`receive`), stops after two units without
 * one or when all are used, and redeems in batches (`redeem`, forced at the end). The rest returns at the lock's expiry.
 *
 * Nothing is lost on a crash: every transition of a job is one atomic write of its record (job-store.ts), and a
 * restarted node resumes each job by the pure `resumeStep` rules once its chain is back (one read of the lock).
 */
import type { Connection, Stream } from '@libp2p/interface'
import { encode } from 'cborg'
import { Interface, getAddress, keccak256, verifyMessage } from 'ethers'
import type { EventSink } from '../../../common/events.js'
import type { Logger } from '../../../common/logger.js'
import { WorkTicker } from '../../../common/work-ticker.js'
import type { KvOp } from '../../chain/index.js'
import { attachCreditVault, computeMarketAbi, creditVaultAbi, lockIdOf } from '../../contracts/index.js'
import type { LedgerChain } from '../../service.js'
import { meterHasWork, meterStep, resumeStep } from '../core/metering.js'
import { MARKET_COMPUTE_PROTOCOL, askPeer, serveOne, type Dialer } from './compute-wire.js'
import { DatasetRefusal, prepareDataset, type DatasetPorts } from './compute-dataset.js'
import type { MarketEvents } from './events.js'
import type { ComputeJobRecord, MarketStore } from './job-store.js'
import type { ComputeJobView } from './views.js'
export { MARKET_COMPUTE_PROTOCOL }

/** A voucher as it travels (wei amounts as decimal strings; the payer's compact signature). */
export interface ComputeVoucher { payer: string, provider: string, salt: string, cumulativeAmount: string, r: string, vs: string }

/** The vouchers port (the ledger's `LedgerRewards`: one signing, checking and batched redemption path). */
export interface VoucherBook {
  voucherFor: (provider: string, salt: bigint, cumulativeAmount: bigint) => Promise<ComputeVoucher>
  receive: (v: ComputeVoucher) => Promise<boolean>
  redeem: (opts?: { force?: boolean }) => Promise<void>
}

/** The job port (training and storage, wired by the node): start the buyer's job here, stop it, take its dataset. */
export interface ComputeRunner extends DatasetPorts {
  start: (job: Record<string, unknown>) => Promise<string>
  stop: (jobId: string) => Promise<void>
}

/** What compute jobs use of the node and the market. */
export interface ComputeJobsComponents {
  libp2p: Dialer & { handle: (p: string, h: (s: Stream, c: Connection) => void, o?: { maxInboundStreams?: number }) => Promise<void>, unhandle: (p: string) => Promise<void> }
  chain: () => LedgerChain | undefined
  store: MarketStore
  vouchers?: VoucherBook
  runner?: ComputeRunner
  events: EventSink<MarketEvents>
  logger: Logger
}

/** A job in memory: its record plus timers (`startedAt`: when the provider's metered run time began, shifted on resume). */
interface Job extends ComputeJobRecord { startedAt: number, timer?: NodeJS.Timeout, nextCheck?: number, paying?: boolean, behind?: boolean }

const vaultIface = new Interface(creditVaultAbi)
const marketIface = new Interface(computeMarketAbi)
const TIMEOUT_MS = 20_000
/** At most this long between two chain reads of a finished job's lock (one unit, when shorter). */
const RELEASE_CHECK_MS = 30_000
// over the job's canonical CBOR (cborg sorts map keys), so both sides hash the same bytes
const startText = (lockId: string, job: Record<string, unknown>): string => `meshnode compute start ${lockId} ${keccak256(encode(job))}`
const short = (err: unknown): string => (err as Error).message.slice(0, 200)

/** Compute jobs of this node, as buyer and as provider, keyed by lock id. */
export class ComputeJobs {
  private readonly jobs = new Map<string, Job>()
  /** The provider's meter (one pass at a time), ticking only while `meterHasWork`: an idle node woke every second for nothing. */
  private readonly ticker: WorkTicker
  /** Jobs loaded from the store wait for the chain before they resume. */
  private resumed = false

  constructor (private readonly c: ComputeJobsComponents, private readonly unitMs: number) {
    this.ticker = new WorkTicker(async () => { await this.meter() }, Math.max(50, Math.min(1000, Math.floor(unitMs / 4))), () => meterHasWork(this.resumed, this.jobs.values()))
  }

  async start (): Promise<void> {
    const { jobs, bad } = await this.c.store.jobs()
    if (bad > 0) this.c.logger.warn({ bad }, 'compute job records that fail their schema were skipped')
    for (const r of jobs) this.jobs.set(r.lockId, { ...r, startedAt: Date.now() - r.runMs })
    this.resumed = jobs.length === 0
    await this.c.libp2p.handle(MARKET_COMPUTE_PROTOCOL, (s, conn) => { void serveOne(s, TIMEOUT_MS, async m => await this.handle(m, conn.remotePeer.toString()).catch((err: Error) => ({ ok: false, error: short(err) }))) }, { maxInboundStreams: 16 })
    this.ticker.arm()
  }

  async stop (): Promise<void> {
    this.ticker.stop()
    for (const j of this.jobs.values()) clearInterval(j.timer)
    await this.c.libp2p.unhandle(MARKET_COMPUTE_PROTOCOL).catch(() => {})
  }

  /** The jobs of the fill with transaction `tx`. */
  viewsOf (tx: string | null): ComputeJobView[] {
    if (tx === null) return []
    return [...this.jobs.values()].filter(j => j.fillTx === tx).map(j => this.view(j))
  }

  private view (j: Job): ComputeJobView {
    const { salt, amount, expiry, peerId, runMs, ending, job, startedAt, timer, nextCheck, paying, behind, ...v } = j
    return { ...v }
  }

  private record (j: Job): ComputeJobRecord {
    const { startedAt, timer, nextCheck, paying, behind, ...r } = j
    // the run time counts only while metered: not between a restart's load and its resume
    return { ...r, runMs: j.role === 'provider' && j.state === 'running' && this.resumed ? Math.max(0, Date.now() - startedAt) : j.runMs }
  }

  /** Persists the job's record (with `extra` writes in the same batch), then reports it. */
  private async save (j: Job, extra: KvOp[] = []): Promise<void> {
    const r = this.record(j)
    j.runMs = r.runMs
    await this.c.store.write([this.c.store.jobOp(r), ...extra]).catch((err: Error) => { this.c.logger.warn({ lockId: j.lockId, err: err.message }, 'compute job record not written') })
    this.c.events.emit('market.compute', this.view(j))
    this.ticker.arm() // every state change comes through here: one that gives the meter work starts its tick
  }

  // ---------------------------------------------------------------- buyer

  /**
   * After a fill this node took: for each compute ask it filled, start `job` on the ask's provider node and pay it by
   * the unit. `orders` maps each filled order hash to its provider's peer id and price; `fillOps` (the fill's record)
   * go in the batch with the jobs' first records.
   */
  async buy (tx: string, job: Record<string, unknown>, orders: Map<string, { peer: string, price: bigint }>, fillOps: KvOp[] = []): Promise<void> {
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
    const started: Job[] = []
    for (const f of filled) {
      const o = orders.get(f.hash) ?? orders.get(f.hash.toLowerCase())
      const lock = opened.get(f.lockId)
      if (o === undefined || lock === undefined) continue
      const j: Job = {
        role: 'buyer', lockId: f.lockId, fillTx: tx, peer: o.peer, peerId: o.peer, payer: getAddress(h.wallet.address), provider: getAddress(lock.provider),
        units: f.units.toString(), price: o.price.toString(), unitMs: this.unitMs, state: 'starting', reason: null, jobId: null,
        unitsRun: 0, vouchers: 0, covered: '0', redeemed: '0', refunded: null,
        salt: lock.salt.toString(), amount: lock.amount.toString(), expiry: lock.expiry, runMs: 0, ending: null, job, startedAt: Date.now()
      }
      this.jobs.set(j.lockId, j)
      started.push(j)
    }
    // the fill and its jobs in one batch: a crash keeps both or neither
    await this.c.store.write([...fillOps, ...started.map(j => this.c.store.jobOp(this.record(j)))])
    for (const j of started) await this.open(j, job)
  }

  private async open (j: Job, job: Record<string, unknown>): Promise<void> {
    const h = this.need()
    try {
      const auth = await h.wallet.signMessage(startText(j.lockId, job))
      const r = await this.ask(j.peerId, { type: 'start', lockId: j.lockId, payer: j.payer, salt: j.salt, units: j.units, tx: j.fillTx, job, auth })
      if (r.ok !== true) throw new Error(typeof r.error === 'string' ? r.error : 'the provider refused the job')
      j.jobId = typeof r.jobId === 'string' ? r.jobId : null
      j.state = 'running'
      j.job = null
      this.schedulePay(j)
    } catch (err) {
      j.state = 'failed'
      j.reason = short(err)
    }
    await this.save(j)
  }

  private schedulePay (j: Job): void {
    clearInterval(j.timer)
    j.timer = setInterval(() => { void this.pay(j) }, this.unitMs)
    j.timer.unref()
  }

  private end (j: Job, state: Job['state'], reason: string): void {
    j.state = state
    j.reason = reason
    clearInterval(j.timer)
  }

  /**
   * One unit went by: sign the voucher for every unit so far (cumulative) and send it, until the lock expires. After a
   * unit without delivery (failed, or still on its way) the next voucher covers it too: the provider meters by time
   * and stops at two missing, so one slow trip must not leave the buyer a unit behind for good.
   */
  private async pay (j: Job): Promise<void> {
    if (j.state !== 'running') { clearInterval(j.timer); return }
    if (j.paying === true) { j.behind = true; return }
    j.paying = true
    try {
      const units = BigInt(j.units)
      const n = BigInt(Math.min(Number(units), j.unitsRun + (j.behind === true ? 2 : 1)))
      const v = await this.book().voucherFor(j.provider, BigInt(j.salt), n * BigInt(j.price))
      let r: Record<string, unknown>
      try {
        // at most a unit: a provider that is down must not hold the next unit's voucher back
        r = await this.ask(j.peerId, { type: 'voucher', lockId: j.lockId, voucher: v }, Math.min(TIMEOUT_MS, Math.max(1000, this.unitMs)))
      } catch (err) {
        j.behind = true
        this.c.logger.debug({ lockId: j.lockId, err: short(err) }, 'compute voucher not delivered; sent again next unit')
        if (Date.now() / 1000 > j.expiry) { this.end(j, 'stopped', 'lock-expired'); await this.save(j) }
        return
      }
      if (r.ok !== true) {
        // the provider knows no such job: it is over for it; any other refusal is retried next unit
        if (r.code === 'no-such-job') { this.end(j, 'stopped', 'provider-lost-job'); await this.save(j) }
        return
      }
      j.unitsRun = Number(n)
      j.behind = false
      j.vouchers++
      j.covered = v.cumulativeAmount
      if (r.state === 'done' || r.state === 'stopped' || n === units) this.end(j, n === units ? 'done' : String(r.state) as Job['state'], typeof r.reason === 'string' ? r.reason : 'complete')
      await this.save(j)
    } catch (err) {
      this.c.logger.debug({ lockId: j.lockId, err: short(err) }, 'compute voucher not signed')
    } finally {
      j.paying = false
    }
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

  private async ask (peer: string, msg: Record<string, unknown>, timeoutMs = TIMEOUT_MS): Promise<Record<string, unknown>> {
    return await askPeer(this.c.libp2p, peer, msg, timeoutMs)
  }

  // ---------------------------------------------------------------- provider

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
    const runner = this.c.runner
    if (job === undefined || runner === undefined) return { ok: false, error: runner === undefined ? 'this node runs no compute jobs' : 'no job described' }
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
      salt: salt.toString(), amount: lock.amount.toString(), expiry: Number(lock.expiry), runMs: 0, ending: null, job: null, startedAt: Date.now()
    }
    this.jobs.set(lockId, j)
    await this.save(j)
    let code: string | undefined
    try {
      j.jobId = await runner.start(await prepareDataset(job, runner))
      j.state = 'running'
      j.startedAt = Date.now()
    } catch (err) {
      j.state = 'failed'
      j.reason = short(err)
      code = err instanceof DatasetRefusal ? err.code : 'job-refused'
    }
    await this.save(j)
    return { ok: j.state === 'running', jobId: j.jobId, error: j.reason, ...(code !== undefined ? { code } : {}) }
  }

  /** A voucher of a running job: kept when valid and higher than the last (the rewards' checks). */
  private async onVoucher (m: Record<string, unknown>): Promise<Record<string, unknown>> {
    const j = this.jobs.get(String(m.lockId))
    const v = m.voucher as ComputeVoucher | undefined
    if (j === undefined || j.role !== 'provider' || v === undefined) return { ok: false, code: 'no-such-job', error: 'no such job' }
    if (j.state === 'running' && j.ending === null && getAddress(String(v.payer)) === j.payer && BigInt(String(v.salt)) === BigInt(j.salt) && BigInt(String(v.cumulativeAmount)) <= BigInt(j.amount) && await this.book().receive(v)) {
      j.vouchers++
      j.covered = v.cumulativeAmount
      await this.save(j)
      void this.book().redeem().catch((err: Error) => { this.c.logger.debug({ err: err.message }, 'compute redemption deferred') })
    }
    return { ok: true, state: j.state, reason: j.reason, unitsRun: j.unitsRun }
  }

  /** The provider's meter: units run, missed vouchers, the end of the job, the lock's release after its expiry. */
  private async meter (): Promise<void> {
    try {
      if (!this.resumed) await this.resume()
      if (!this.resumed) return
      for (const j of this.jobs.values()) {
        if (j.role !== 'provider') continue
        if (j.state === 'running' && j.ending === null) {
          const m = meterStep((Date.now() - j.startedAt) / this.unitMs, Number(j.units), Number(BigInt(j.covered) / BigInt(j.price)))
          j.unitsRun = m.unitsRun
          if (m.action === 'done') await this.finish(j, 'done', 'complete')
          else if (m.action === 'stop') await this.finish(j, 'stopped', 'missed-vouchers')
        } else if (j.state !== 'running' && j.state !== 'starting' && j.refunded === null) {
          await this.release(j)
        }
      }
    } catch (err) {
      this.c.logger.debug({ err: short(err) }, 'compute meter')
    }
  }

  /** After a restart, once the chain is back: each kept job by `resumeStep` (one read of its lock). */
  private async resume (): Promise<void> {
    const h = this.c.chain()
    if (h === undefined) return
    const block = await h.provider.getBlock('latest')
    if (block === null) return
    const vault = attachCreditVault(h.contracts.CreditVault, h.provider)
    for (const j of this.jobs.values()) {
      const lock = await vault.getLock(j.lockId)
      const price = BigInt(j.price)
      const step = resumeStep({
        role: j.role, state: j.state, ending: j.ending, units: Number(j.units), covered: Number(BigInt(j.covered) / price),
        lockClosed: lock.closed, lockExpired: block.timestamp > j.expiry, released: j.refunded !== null, haveJob: j.job !== null
      })
      if (step.state !== undefined && step.action !== 'finish') { j.state = step.state; j.reason = step.reason ?? j.reason }
      this.c.logger.info({ lockId: j.lockId, role: j.role, action: step.action, state: j.state, runMs: j.runMs }, 'compute job resumed')
      if (step.action === 'finish') await this.finish(j, step.state === 'done' ? 'done' : 'stopped', step.reason ?? 'complete')
      // metering resumes from the run time paid for: the downtime is not billed, and the buyer gets the usual slack
      // for its next voucher (it resends the one the provider missed)
      else if (step.action === 'meter') j.startedAt = Date.now() - Math.min(j.runMs, Number(BigInt(j.covered) / price) * this.unitMs)
      else if (step.action === 'pay') this.schedulePay(j)
      else if (step.action === 'start' && j.job !== null) void this.open(j, j.job)
      else if (step.action === 'release' && BigInt(j.covered) > lock.redeemed) {
        // the vouchers held and not yet redeemed go out before the release
        await this.book().redeem({ force: true }).catch((err: Error) => { this.c.logger.warn({ err: err.message }, 'compute redemption failed; retried at expiry') })
      }
      if (step.state !== undefined || step.action === 'release') await this.save(j)
    }
    this.resumed = true
  }

  private async finish (j: Job, state: 'done' | 'stopped', reason: string): Promise<void> {
    // no vouchers taken while it ends (persisted: a restart finishes it); the state changes once redeemed on chain
    j.ending = state
    await this.save(j)
    if (j.jobId !== null) await this.c.runner?.stop(j.jobId).catch(() => {})
    try {
      await this.book().redeem({ force: true })
      const lock = await attachCreditVault(this.need().contracts.CreditVault, this.need().provider).getLock(j.lockId)
      j.redeemed = lock.redeemed.toString()
    } catch (err) {
      this.c.logger.warn({ lockId: j.lockId, err: short(err) }, 'compute redemption failed; retried at expiry')
    }
    j.state = state
    j.reason = reason
    j.ending = null
    this.c.logger.info({ lockId: j.lockId, state, reason, unitsRun: j.unitsRun, redeemed: j.redeemed }, 'compute job over')
    await this.save(j)
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
      await h.client.settle({ id: `compute-release:${j.lockId}`, kind: 'compute-release', to: h.contracts.CreditVault, data: vault.interface.encodeFunctionData('release', [j.payer, j.provider, BigInt(j.salt)]), proof: { type: 'nonce' } })
    }
    j.refunded = (lock.amount - lock.redeemed).toString()
    await this.save(j)
  }
}
