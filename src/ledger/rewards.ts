/**
 * Training rewards, the chain side (training's `RewardsPort`, wired by the node): a rewarded job's creator locks the
 * job's total in the CreditVault, pays each contributor's per-round share by a lock and a signed voucher, and returns
 * the rest when the job is over; a contributor checks the vouchers it receives and redeems them in batches.
 *
 * Why this shape (the vault as it is): a lock binds one payer to one provider, and contributors are unknown when a job
 * is created. So at creation the creator locks the total to **itself** (the job's reserve: untouchable by a withdrawal,
 * shown as locked). After each accepted round it draws that round's payouts from the reserve (one voucher to itself,
 * cumulative over the job's draws, redeemed at once), opens a lock of exactly each payout for its contributor (sent
 * together), and signs each contributor a voucher for its lock. When the job is over and everyone is paid, it releases the
 * reserve (as its provider it may close it early): the rest is free again. Every step is a chain-client intent with a
 * deterministic id and an on-chain proof (reserve and payout locks: `vault-lock`; draws: `vouchers`; redemptions:
 * `vouchers`), so a crash or a retry never pays twice; the payout record (amount, cumulative draw, salt) is persisted
 * before the first transaction.
 *
 * Redemption (contributors): vouchers are kept per lock (the highest only; replays and lower amounts are ignored) and
 * redeemed with `redeemMany` when worthwhile: the unredeemed value is >= `gasMultiple` times the batch's gas cost
 * (FTNS wei compared with native wei 1:1: no price oracle exists; on a local chain that is ~0.01 FTNS), a lock is
 * within `expiryMarginS` of its expiry, or on `force` (the job is over, or the payer asked with `settle`).
 */
import { id as hashText, getAddress, recoverAddress } from 'ethers'
import type { Logger } from '../common/logger.js'
import { MeshError } from '../common/errors.js'
import { attachCreditVault, lockIdOf, signVoucher, vaultDomain, voucherDigest, type CreditVaultContract } from './contracts/index.js'
import type { ChainKv, KvOp } from './chain/index.js'
import { formatFtns, parseFtns } from './amounts.js'
import { LedgerError } from './errors.js'
import type { LedgerChain, LedgerState } from './service.js'

/** A voucher as it travels (amounts in wei, decimal strings; the compact signature of the payer). */
export interface RewardVoucherData { payer: string, provider: string, salt: string, cumulativeAmount: string, r: string, vs: string }

/** Redemption policy. */
export interface RewardsPolicy {
  /** Redeem once the unredeemed value is at least this many times the batch's gas cost. Default 100. */
  gasMultiple: number
  /** Redeem when a lock expires within this many seconds. Default 1 day. */
  expiryMarginS: number
  /** How long a payout lock stays redeemable, in seconds (capped by the vault's maxLockDuration). Default 7 days. */
  payoutLockS: number
  /** At most this many vouchers per `redeemMany`. Default 100. */
  batchMax: number
}

const DEFAULT_POLICY: RewardsPolicy = { gasMultiple: 100, expiryMarginS: 24 * 3600, payoutLockS: 7 * 24 * 3600, batchMax: 100 }

interface JobRecord { totalWei: string, salt: string, drawn: string, closed?: boolean }
interface PayRecord { wei: string, drawTo: string, salt: string }
interface HeldVoucher { voucher: RewardVoucherData, lockId: string, expiry: number, redeemed: string }

/** A uint96 salt derived from what a lock is for (deterministic: a retry opens the same lock). */
export function rewardSalt (...parts: Array<string | number>): bigint {
  return BigInt(hashText(`meshnode reward ${parts.join(' ')}`)) >> 160n
}

/** Our own errors pass; anything else from the chain (an RPC down, a timeout) is a 409 that says so, never a 5xx. */
async function chainCall<T> (fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof MeshError) throw err
    throw new LedgerError('ERR_CHAIN_UNAVAILABLE', `the chain did not answer: ${(err as Error).message.split('\n')[0].slice(0, 200)}`, { cause: err })
  }
}

/** One chain step at a time: draws, locks and redemptions read balances and then move them. */
class Serial {
  private tail: Promise<unknown> = Promise.resolve()
  async run<T> (fn: () => Promise<T>): Promise<T> {
    const p = this.tail.then(fn)
    this.tail = p.catch(() => {})
    return await p
  }
}

/** Rewards on the node's ledger (the shape training's `RewardsPort` asks for). */
export class LedgerRewards {
  private readonly mutex = new Serial()
  private readonly policy: RewardsPolicy

  constructor (private readonly c: {
    ledger: () => { state: LedgerState, chain: () => LedgerChain | undefined } | undefined
    store: ChainKv
    logger: Logger
  }, policy: Partial<RewardsPolicy> = {}) {
    this.policy = { ...DEFAULT_POLICY, ...policy }
  }

  private chain (): Required<Pick<LedgerChain, 'client'>> & LedgerChain {
    const l = this.c.ledger()
    if (l === undefined) throw new LedgerError('ERR_LEDGER_NOT_READY', 'the ledger is still starting')
    if (l.state === 'disabled') throw new LedgerError('ERR_LEDGER_DISABLED', 'the ledger is switched off on this node (ledger.enabled: false): it cannot pay or receive rewards')
    const h = l.chain()
    if (h === undefined) throw new LedgerError('ERR_LEDGER_NOT_READY', l.state === 'failed' ? 'the ledger failed to start: see GET /v1/wallet' : 'the ledger is still starting')
    if (h.client === undefined) throw new LedgerError('ERR_LEDGER_NOT_READY', 'the ledger has no settlement store')
    return h as Required<Pick<LedgerChain, 'client'>> & LedgerChain
  }

  address (): string { return this.chain().wallet.address }

  parseAmount (input: unknown, name: string): bigint { return parseFtns(input, { name, positive: true }) }

  /** Lock `totalWei` to this node itself as job `jobId`'s reserve (exactly once per job). */
  async reserve (jobId: string, totalWei: bigint): Promise<void> {
    await this.mutex.run(async () => await chainCall(async () => {
      const h = this.chain()
      const { vault, me } = this.handles(h)
      const id = `reward-reserve:${jobId}`
      const salt = rewardSalt('reserve', jobId)
      if ((await h.client.get(id))?.state !== 'done') {
        const free = await vault.freeBalanceOf(me)
        if (free < totalWei) throw new LedgerError('ERR_INSUFFICIENT_FUNDS', `the reward (${formatFtns(totalWei)} FTNS) is above the free vault balance (${formatFtns(free)} FTNS): deposit more first (POST /v1/wallet/deposit)`)
        const expiry = await this.chainNow(h) + Number(await vault.maxLockDuration()) - 60
        await h.client.settle({
          id, kind: 'reward-reserve', to: h.contracts.CreditVault,
          data: vault.interface.encodeFunctionData('lock', [me, totalWei, BigInt(expiry), salt]),
          proof: { type: 'vault-lock', vault: h.contracts.CreditVault, lockId: lockIdOf(me, me, salt) }
        })
      }
      if (await this.c.store.get(`rw/job/${jobId}`) === undefined) {
        await this.c.store.batch([{ type: 'put', key: `rw/job/${jobId}`, value: { totalWei: totalWei.toString(), salt: salt.toString(), drawn: '0' } satisfies JobRecord }])
      }
    }))
  }

  /**
   * Pay one round's payouts of `jobId` out of its reserve: one draw of their sum (a cumulative voucher to this node),
   * then a lock of exactly each payout for its provider (sent together), then a voucher for each. Exactly once per
   * (job, round, provider): the amounts, the cumulative draw and the salts are persisted before any transaction.
   */
  async payRound (p: { jobId: string, round: number, items: Array<{ provider: string, wei: bigint }> }): Promise<RewardVoucherData[]> {
    if (p.items.length === 0) return []
    return await this.mutex.run(async () => {
      const h = this.chain()
      const { vault, me, domain } = this.handles(h)
      const job = await this.c.store.get(`rw/job/${p.jobId}`) as JobRecord | undefined
      if (job === undefined) throw new LedgerError('ERR_INSUFFICIENT_FUNDS', `job ${p.jobId} has no reward reserve on this node`)
      if (job.closed === true) throw new LedgerError('ERR_INSUFFICIENT_FUNDS', `job ${p.jobId}'s reward reserve is closed`)
      // the cumulative draw of each payout is fixed (and persisted) before any transaction: a retry repeats the same intents
      let drawn = BigInt(job.drawn)
      const recs: Array<PayRecord & { provider: string }> = []
      const ops: KvOp[] = []
      for (const item of p.items) {
        const provider = getAddress(item.provider)
        const key = `rw/pay/${p.jobId}/${p.round}/${provider}`
        let rec = await this.c.store.get(key) as PayRecord | undefined
        if (rec === undefined) {
          drawn += item.wei
          if (drawn > BigInt(job.totalWei)) throw new LedgerError('ERR_INSUFFICIENT_FUNDS', `paying round ${p.round} would exceed job ${p.jobId}'s reward`)
          rec = { wei: item.wei.toString(), drawTo: drawn.toString(), salt: rewardSalt('pay', p.jobId, p.round, provider).toString() }
          ops.push({ type: 'put', key, value: rec })
        }
        recs.push({ ...rec, provider })
      }
      if (ops.length > 0) await this.c.store.batch([...ops, { type: 'put', key: `rw/job/${p.jobId}`, value: { ...job, drawn: drawn.toString() } }])
      const drawTo = recs.reduce((m, r) => BigInt(r.drawTo) > m ? BigInt(r.drawTo) : m, 0n)
      const reserveSalt = BigInt(job.salt)
      const reserveId = lockIdOf(me, me, reserveSalt)
      const drawSig = await signVoucher(h.wallet, domain, { lockId: reserveId, cumulativeAmount: drawTo })
      await h.client.settle({
        id: `reward-draw:${p.jobId}:${drawTo}`, kind: 'reward-draw', to: h.contracts.CreditVault,
        data: vault.interface.encodeFunctionData('redeem', [me, reserveSalt, drawTo, drawSig.r, drawSig.vs]),
        proof: { type: 'vouchers', vault: h.contracts.CreditVault, items: [{ lockId: reserveId, cumulativeAmount: drawTo.toString() }] }
      })
      const expiry = BigInt(await this.chainNow(h) + Math.min(this.policy.payoutLockS, Number(await vault.maxLockDuration()) - 60))
      const locks = recs.map(r => ({ ...r, lockId: lockIdOf(me, r.provider, BigInt(r.salt)) }))
      // the draw freed their sum: the locks go out together (one nonce each, in order) and are waited for together
      const ids: string[] = []
      for (const l of locks) {
        const rec = await h.client.submit({
          id: `reward-lock:${l.lockId}`, kind: 'reward-lock', to: h.contracts.CreditVault,
          data: vault.interface.encodeFunctionData('lock', [l.provider, BigInt(l.wei), expiry, BigInt(l.salt)]),
          proof: { type: 'vault-lock', vault: h.contracts.CreditVault, lockId: l.lockId }
        })
        ids.push(rec.id)
      }
      await Promise.all(ids.map(async id => await h.client.wait(id)))
      return await Promise.all(locks.map(async l => {
        const sig = await signVoucher(h.wallet, domain, { lockId: l.lockId, cumulativeAmount: BigInt(l.wei) })
        return { payer: me, provider: l.provider, salt: l.salt, cumulativeAmount: l.wei, r: sig.r, vs: sig.vs }
      }))
    })
  }

  /**
   * A cumulative voucher of this node (the payer) for its lock to `provider` with `salt`: the one signing path, shared
   * by the market's metered compute jobs (the buyer signs one per unit of work).
   */
  async voucherFor (provider: string, salt: bigint, cumulativeAmount: bigint): Promise<RewardVoucherData> {
    const h = this.chain()
    const { me, domain } = this.handles(h)
    const to = getAddress(provider)
    const sig = await signVoucher(h.wallet, domain, { lockId: lockIdOf(me, to, salt), cumulativeAmount })
    return { payer: me, provider: to, salt: salt.toString(), cumulativeAmount: cumulativeAmount.toString(), r: sig.r, vs: sig.vs }
  }

  /** Release job `jobId`'s reserve: what no payout drew goes back to the free balance (idempotent). */
  async closeJob (jobId: string): Promise<void> {
    await this.mutex.run(async () => {
      const h = this.chain()
      const { vault, me } = this.handles(h)
      const job = await this.c.store.get(`rw/job/${jobId}`) as JobRecord | undefined
      if (job === undefined || job.closed === true) return
      const salt = BigInt(job.salt)
      const lock = await vault.getLock(lockIdOf(me, me, salt))
      if (lock.amount > 0n && !lock.closed) {
        await h.client.settle({ id: `reward-close:${jobId}`, kind: 'reward-close', to: h.contracts.CreditVault, data: vault.interface.encodeFunctionData('release', [me, me, salt]), proof: { type: 'nonce' } })
      }
      await this.c.store.batch([{ type: 'put', key: `rw/job/${jobId}`, value: { ...job, closed: true } }])
    })
  }

  /**
   * A voucher for this node: kept when it pays this node, is signed by its payer for this vault and chain, names an
   * open lock, and is higher than the one held for that lock. Returns whether it was kept.
   */
  async receive (v: RewardVoucherData): Promise<boolean> {
    return await this.mutex.run(async () => {
      const h = this.chain()
      const { vault, me, domain } = this.handles(h)
      if (getAddress(v.provider) !== me) return false
      const lockId = lockIdOf(getAddress(v.payer), me, BigInt(v.salt))
      const cumulative = BigInt(v.cumulativeAmount)
      let signer: string
      try {
        signer = recoverAddress(voucherDigest(domain, { lockId, cumulativeAmount: cumulative }), { r: v.r, yParityAndS: v.vs })
      } catch { return false }
      if (signer !== getAddress(v.payer)) { this.c.logger.warn({ lockId, signer, payer: v.payer }, 'refused a reward voucher: not signed by its payer'); return false }
      const held = await this.c.store.get(`rw/in/${lockId}`) as HeldVoucher | undefined
      if (held !== undefined && BigInt(held.voucher.cumulativeAmount) >= cumulative) return false
      const lock = await vault.getLock(lockId)
      if (lock.amount === 0n || lock.closed) return false
      await this.c.store.batch([{ type: 'put', key: `rw/in/${lockId}`, value: { voucher: { ...v, provider: me }, lockId, expiry: Number(lock.expiry), redeemed: held?.redeemed ?? '0' } satisfies HeldVoucher }])
      return true
    })
  }

  /** Redeem held vouchers in one `redeemMany` when worthwhile (see the header), or now with `force`. */
  async redeem (opts: { force?: boolean } = {}): Promise<void> {
    await this.mutex.run(async () => {
      const h = this.chain()
      const { vault, me } = this.handles(h)
      const now = await this.chainNow(h)
      const due: Array<HeldVoucher & { adds: bigint }> = []
      for (const [, value] of await this.c.store.range('rw/in/', 'rw/in0')) {
        const held = value as HeldVoucher
        if (held.expiry <= now) continue
        const cum = BigInt(held.voucher.cumulativeAmount)
        if (cum <= BigInt(held.redeemed)) continue
        const lock = await vault.getLock(held.lockId) // the chain says what is already paid (a crash may have lost our note)
        const capped = cum < lock.amount ? cum : lock.amount
        if (lock.closed || capped <= lock.redeemed) {
          await this.c.store.batch([{ type: 'put', key: `rw/in/${held.lockId}`, value: { ...held, redeemed: (lock.closed ? cum : lock.redeemed).toString() } }])
          continue
        }
        due.push({ ...held, adds: capped - lock.redeemed })
        if (due.length >= this.policy.batchMax) break
      }
      if (due.length === 0) return
      const value = due.reduce((s, d) => s + d.adds, 0n)
      const nearExpiry = due.some(d => d.expiry - now <= this.policy.expiryMarginS)
      const claims = due.map(d => ({ payer: d.voucher.payer, salt: BigInt(d.voucher.salt), cumulativeAmount: BigInt(d.voucher.cumulativeAmount), r: d.voucher.r, vs: d.voucher.vs }))
      const data = vault.interface.encodeFunctionData('redeemMany', [claims])
      if (opts.force !== true && !nearExpiry) {
        const [gas, fees] = await Promise.all([h.provider.estimateGas({ from: me, to: h.contracts.CreditVault, data }), h.provider.getFeeData()])
        const cost = gas * (fees.maxFeePerGas ?? fees.gasPrice ?? 0n)
        if (value < cost * BigInt(this.policy.gasMultiple)) return
      }
      const items = due.map(d => ({ lockId: d.lockId, cumulativeAmount: d.voucher.cumulativeAmount }))
      const id = `reward-redeem:${hashText(items.map(i => `${i.lockId}:${i.cumulativeAmount}`).join(','))}`
      await h.client.settle({ id, kind: 'reward-redeem', to: h.contracts.CreditVault, data, proof: { type: 'vouchers', vault: h.contracts.CreditVault, items } })
      await this.c.store.batch(due.map(d => ({ type: 'put' as const, key: `rw/in/${d.lockId}`, value: { lockId: d.lockId, voucher: d.voucher, expiry: d.expiry, redeemed: d.voucher.cumulativeAmount } satisfies HeldVoucher })))
      this.c.logger.info({ vouchers: due.length, amount: formatFtns(value) }, 'redeemed reward vouchers')
    })
  }

  private handles (h: LedgerChain): { vault: CreditVaultContract, me: string, domain: ReturnType<typeof vaultDomain> } {
    return { vault: attachCreditVault(h.contracts.CreditVault, h.provider), me: getAddress(h.wallet.address), domain: vaultDomain(BigInt(h.chainId), h.contracts.CreditVault) }
  }

  /** The chain's time (the vault judges expiries by block timestamps, not by our clock). */
  private async chainNow (h: LedgerChain): Promise<number> {
    const b = await h.provider.getBlock('latest')
    if (b === null) throw new LedgerError('ERR_CHAIN_UNAVAILABLE', 'the chain did not return its latest block')
    return b.timestamp
  }
}
