/**
 * A model of the CreditVault (and of FTNS held by its users) driven by random operations that run as real
 * transactions on anvil. Each operation's outcome (success or revert, and every balance after it) is predicted by the
 * model first and then compared with the chain; the block time is set for every transaction, so expiries and delays are
 * predicted exactly. The invariants the property tests assert are computed from the chain's state and receipts.
 */
import type { Wallet } from 'ethers'
import { eventsOf, lockIdOf, signVoucher } from '../../../src/ledger/contracts/index.js'
import type { CompactSignature } from '../../../src/ledger/contracts/index.js'
import type { Anvil, MinedReceipt } from './anvil.js'
import type { Deployment } from './deploy.js'
import type { VaultOp } from './vault-ops.js'
import type { LedgerLensContract } from '../bindings/ledger-lens.js'

/** `share` permille of `base`. */
const part = (base: bigint, share: number): bigint => base * BigInt(share) / 1000n

interface LockModel {
  payer: number
  provider: number
  salt: bigint
  id: string
  amount: bigint
  expiry: bigint
  redeemed: bigint
  closed: boolean
  /** The sum of `paid` over the Redeemed events seen for this lock. */
  paidByEvents: bigint
}

interface VoucherModel {
  lock: number
  cumulative: bigint
  sig: CompactSignature
}

/** What one run observed, for the invariants. */
export interface RunLog {
  /** Replays of already redeemed vouchers, and whether the chain accepted them. */
  replays: Array<{ accepted: boolean }>
  /** Completed withdrawals: when, and when the account last asked. */
  withdrawals: Array<{ at: bigint, requestedAt: bigint }>
  /** Tokens that left the vault, per receipt, beside what Withdrawn events account for. */
  outflows: Array<{ transferred: bigint, withdrawn: bigint }>
  /** After each operation: vault token balance and what the vault owes. */
  solvency: Array<{ held: bigint, owed: bigint }>
  /** After each operation: every lock's (amount, redeemed, paid by events). */
  locks: Array<Array<{ amount: bigint, redeemed: bigint, paidByEvents: bigint }>>
  /** After each operation: sum of holders' balances and the total supply. */
  supply: Array<{ held: bigint, total: bigint }>
  /** Operations that ran, and those that succeeded, by kind (to show the runs were not vacuous). */
  ran: Partial<Record<VaultOp['kind'], number>>
  succeeded: Partial<Record<VaultOp['kind'], number>>
  /** Vouchers paid whose cumulative amount was above their lock's amount. */
  overLockPaid: number
}

/** Runs operations against the chain and the model side by side. */
export class VaultModel {
  t = 0n
  readonly wallet: bigint[]
  readonly free: bigint[]
  readonly pending: Array<{ amount: bigint, readyAt: bigint, requestedAt: bigint }>
  vaultTokens = 0n
  private salts = 0n
  readonly lockList: LockModel[] = []
  readonly vouchers: VoucherModel[] = []
  readonly log: RunLog = { replays: [], withdrawals: [], outflows: [], solvency: [], locks: [], supply: [], ran: {}, succeeded: {}, overLockPaid: 0 }

  constructor (
    private readonly d: Deployment,
    private readonly lens: LedgerLensContract,
    private readonly actors: Wallet[],
    private readonly delay: bigint,
    private readonly maxLock: bigint,
    start: { t: bigint, wallet: bigint[], vaultTokens: bigint }
  ) {
    this.t = start.t
    this.wallet = [...start.wallet]
    this.free = actors.map(() => 0n)
    this.pending = actors.map(() => ({ amount: 0n, readyAt: 0n, requestedAt: 0n }))
    this.vaultTokens = start.vaultTokens
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

  /** Sends `tx` from actor `from` in a block at the model's time; returns the receipt, or null if it reverted. */
  private async send (from: number, tx: Parameters<Anvil['exec']>[1]): Promise<MinedReceipt | null> {
    // the chain mines each block 1 s after the last (anvil_setBlockTimestampInterval 1): set the time only after a jump
    if (this.minedAt === null || this.t !== this.minedAt + 1n) await this.anvil.rpc('evm_setNextBlockTimestamp', [Number(this.t)])
    this.minedAt = this.t
    this.t += 1n
    try {
      return await this.anvil.exec(this.actors[from].address, tx, { gas: 3_000_000n })
    } catch (err) {
      if (err instanceof Error && err.name === 'TxError') return null
      throw err
    }
  }

  private expectOutcome (op: VaultOp, predicted: boolean, receipt: MinedReceipt | null): void {
    if (predicted !== (receipt !== null)) {
      throw new Error(`model predicted ${predicted ? 'success' : 'revert'} for ${JSON.stringify(op, (_, v: unknown) => typeof v === 'bigint' ? v.toString() : v)}`)
    }
  }

  /** Runs one operation and updates the model; throws when the chain disagrees with the prediction. */
  async apply (op: VaultOp): Promise<void> {
    const v = this.d.vault
    let now = this.t // the block time of the transaction this op sends (after any `wait`)
    let receipt: MinedReceipt | null = null
    switch (op.kind) {
      case 'deposit': {
        const amount = part(this.wallet[op.who], op.share)
        const ok = amount > 0n && this.wallet[op.who] >= amount
        receipt = await this.send(op.who, v.deposit.populateTransaction(amount))
        this.expectOutcome(op, ok, receipt)
        if (ok) {
          this.wallet[op.who] -= amount
          this.vaultTokens += amount
          this.free[op.who] += amount
        }
        break
      }
      case 'request': {
        const amount = part(this.free[op.who], op.share)
        const ok = amount > 0n && this.free[op.who] >= amount
        receipt = await this.send(op.who, v.requestWithdrawal.populateTransaction(amount))
        this.expectOutcome(op, ok, receipt)
        if (ok) {
          this.free[op.who] -= amount
          const p = this.pending[op.who]
          p.amount += amount
          p.readyAt = now + this.delay
          p.requestedAt = now
        }
        break
      }
      case 'cancel': {
        const p = this.pending[op.who]
        const ok = p.amount > 0n
        receipt = await this.send(op.who, v.cancelWithdrawal.populateTransaction())
        this.expectOutcome(op, ok, receipt)
        if (ok) {
          this.free[op.who] += p.amount
          this.pending[op.who] = { amount: 0n, readyAt: 0n, requestedAt: 0n }
        }
        break
      }
      case 'complete': {
        // a waiting completion with nothing pending asks for half the free balance first
        if (op.wait !== null && this.pending[op.who].amount === 0n && this.free[op.who] > 1n) {
          await this.apply({ kind: 'request', who: op.who, share: 500 })
        }
        const p = this.pending[op.who]
        if (op.wait !== null && p.amount > 0n) now = this.moveTo(p.readyAt + BigInt(op.wait))
        else now = this.t
        const ok = p.amount > 0n && now >= p.readyAt
        receipt = await this.send(op.who, v.completeWithdrawal.populateTransaction())
        this.expectOutcome(op, ok, receipt)
        if (ok) {
          this.log.withdrawals.push({ at: now, requestedAt: p.requestedAt })
          this.wallet[op.who] += p.amount
          this.vaultTokens -= p.amount
          this.pending[op.who] = { amount: 0n, readyAt: 0n, requestedAt: 0n }
        }
        break
      }
      case 'lock': {
        const salt = ++this.salts
        const expiry = now + op.ttl
        // a share above 1000 of an empty balance is still 0: ask for 1 wei then, to probe the refusal
        const amount = op.share > 1000 && this.free[op.payer] === 0n ? 1n : part(this.free[op.payer], op.share)
        const ok = amount > 0n && this.free[op.payer] >= amount && op.ttl > 0n && op.ttl <= this.maxLock
        receipt = await this.send(op.payer, v.lock.populateTransaction(this.actors[op.provider].address, amount, expiry, salt))
        this.expectOutcome(op, ok, receipt)
        if (ok) {
          this.free[op.payer] -= amount
          const id = lockIdOf(this.actors[op.payer].address, this.actors[op.provider].address, salt)
          this.lockList.push({ payer: op.payer, provider: op.provider, salt, id, amount, expiry, redeemed: 0n, closed: false, paidByEvents: 0n })
        }
        break
      }
      case 'redeem': {
        if (this.lockList.length === 0) return
        // mostly a lock that can still pay; sometimes any lock (closed, expired) to probe the refusals
        const all = this.lockList.map((l, i) => ({ l, i }))
        const live = all.filter(x => !x.l.closed && x.l.expiry >= this.t)
        const pool = op.anyLock || live.length === 0 ? all : live
        const { l, i: li } = pool[op.lock % pool.length]
        if (op.nearExpiry !== null) now = this.moveTo(l.expiry + BigInt(op.nearExpiry))
        const signer = op.forgedBy !== null && op.forgedBy !== l.payer ? op.forgedBy : l.payer
        const cumulative = l.redeemed + part(l.amount - l.redeemed, op.share)
        const sig = await signVoucher(this.actors[signer], this.d.vaultDomain, { lockId: l.id, cumulativeAmount: cumulative })
        const ok = signer === l.payer && this.payable(l, cumulative, now)
        receipt = await this.send(l.provider, v.redeem.populateTransaction(this.actors[l.payer].address, l.salt, cumulative, sig.r, sig.vs))
        this.expectOutcome(op, ok, receipt)
        if (ok) {
          this.pay(l, cumulative)
          this.vouchers.push({ lock: li, cumulative, sig })
        }
        break
      }
      case 'redeemMany': {
        const own = this.lockList.map((l, i) => ({ l, i }))
          .filter(x => op.foreign || (x.l.provider === op.provider && !x.l.closed && x.l.expiry >= this.t))
        if (own.length === 0) return
        const claims = []
        const picked: VoucherModel[] = []
        // predict on a copy: each claim must add to what its lock (as updated by earlier claims) has paid
        const redeemed = new Map<number, bigint>()
        let ok = true
        for (const it of op.items) {
          const { l, i } = own[it.lock % own.length]
          const sofar = redeemed.get(i) ?? l.redeemed
          const cumulative = sofar + part(l.amount - sofar, it.share)
          const sig = await signVoucher(this.actors[l.payer], this.d.vaultDomain, { lockId: l.id, cumulativeAmount: cumulative })
          claims.push({ payer: this.actors[l.payer].address, salt: l.salt, cumulativeAmount: cumulative, r: sig.r, vs: sig.vs })
          picked.push({ lock: i, cumulative, sig })
          const capped = cumulative < l.amount ? cumulative : l.amount
          if (l.provider !== op.provider || l.closed || now > l.expiry || capped <= sofar) ok = false
          else redeemed.set(i, capped)
        }
        receipt = await this.send(op.provider, v.redeemMany.populateTransaction(claims))
        this.expectOutcome(op, ok, receipt)
        if (ok) {
          for (const p of picked) {
            this.pay(this.lockList[p.lock], p.cumulative)
            this.vouchers.push(p)
          }
        }
        break
      }
      case 'replay': {
        if (this.vouchers.length === 0) return
        const vo = this.vouchers[op.voucher % this.vouchers.length]
        const l = this.lockList[vo.lock]
        const ok = this.payable(l, vo.cumulative, now)
        receipt = await this.send(l.provider, v.redeem.populateTransaction(this.actors[l.payer].address, l.salt, vo.cumulative, vo.sig.r, vo.sig.vs))
        this.expectOutcome(op, ok, receipt)
        this.log.replays.push({ accepted: receipt !== null })
        break
      }
      case 'release': {
        if (this.lockList.length === 0) return
        const l = this.lockList[op.lock % this.lockList.length]
        if (op.wait !== null) now = this.moveTo(l.expiry + BigInt(op.wait))
        const ok = !l.closed && (now > l.expiry || op.by === l.provider)
        receipt = await this.send(op.by, v.release.populateTransaction(this.actors[l.payer].address, this.actors[l.provider].address, l.salt))
        this.expectOutcome(op, ok, receipt)
        if (ok) {
          l.closed = true
          this.free[l.payer] += l.amount - l.redeemed
        }
        break
      }
      case 'warp':
        this.t += op.seconds
        return
    }
    this.log.ran[op.kind] = (this.log.ran[op.kind] ?? 0) + 1
    if (receipt !== null) {
      this.log.succeeded[op.kind] = (this.log.succeeded[op.kind] ?? 0) + 1
      this.observe(receipt)
    }
    await this.check()
  }

  /** Moves the clock forward to `target` (never back) and returns the time of the next transaction. */
  private moveTo (target: bigint): bigint {
    if (target > this.t) this.t = target
    return this.t
  }

  private payable (l: LockModel, cumulative: bigint, now: bigint): boolean {
    const capped = cumulative < l.amount ? cumulative : l.amount
    return !l.closed && now <= l.expiry && capped > l.redeemed
  }

  private pay (l: LockModel, cumulative: bigint): void {
    const capped = cumulative < l.amount ? cumulative : l.amount
    if (cumulative > l.amount) this.log.overLockPaid++
    this.free[l.provider] += capped - l.redeemed
    l.redeemed = capped
  }

  /** Reads what the receipt says about payments and outflows (for the invariants, not the model). */
  private observe (receipt: MinedReceipt): void {
    for (const e of eventsOf(this.d.vault, receipt, 'Redeemed')) {
      const l = this.lockList.find(x => x.id === e.lockId)
      if (l === undefined) throw new Error(`Redeemed for an unknown lock ${e.lockId}`)
      l.paidByEvents += e.paid
    }
    const vault = this.d.addresses.vault.toLowerCase()
    const transferred = eventsOf(this.d.token, receipt, 'Transfer').filter(e => e.from.toLowerCase() === vault).reduce((s, e) => s + e.value, 0n)
    const withdrawn = eventsOf(this.d.vault, receipt, 'Withdrawn').reduce((s, e) => s + e.amount, 0n)
    if (transferred > 0n || withdrawn > 0n) this.log.outflows.push({ transferred, withdrawn })
  }

  /** Compares the chain with the model, and records the invariants' inputs. */
  async check (): Promise<void> {
    const s = await this.lens.readVault(this.d.addresses.vault, this.actors.map(a => a.address), this.lockList.map(l => l.id))
    const chain = {
      vaultTokens: s.vaultBalance,
      wallet: [...s.wallet],
      free: [...s.free],
      pending: s.pendingAmount.map((a, i) => [a, s.pendingReadyAt[i]]),
      locks: s.locks.map(l => [l.amount, l.redeemed, l.expiry, l.closed])
    }
    const model = {
      vaultTokens: this.vaultTokens,
      wallet: this.wallet,
      free: this.free,
      pending: this.pending.map(p => [p.amount, p.readyAt]),
      locks: this.lockList.map(l => [l.amount, l.redeemed, l.expiry, l.closed])
    }
    const show = (x: unknown): string => JSON.stringify(x, (_, v: unknown) => typeof v === 'bigint' ? v.toString() : v)
    if (show(chain) !== show(model)) throw new Error(`chain and model differ:\nchain ${show(chain)}\nmodel ${show(model)}`)
    const owed = this.free.reduce((a, x) => a + x, 0n) + this.pending.reduce((a, p) => a + p.amount, 0n) +
      this.lockList.filter(l => !l.closed).reduce((a, l) => a + l.amount - l.redeemed, 0n)
    this.log.solvency.push({ held: s.vaultBalance, owed })
    this.log.locks.push(this.lockList.map(l => ({ amount: l.amount, redeemed: l.redeemed, paidByEvents: l.paidByEvents })))
    this.log.supply.push({ held: s.vaultBalance + chain.wallet.reduce((a, x) => a + x, 0n), total: s.totalSupply })
  }
}
