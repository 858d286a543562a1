/**
 * CreditVault: deposits, the two-step withdrawal and its delay, locks, cumulative vouchers (alone and in batches),
 * expiry refunds, lockers, and the refusal of fee-on-transfer tokens and re-entrant calls.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { MaxUint256, parseEther, Signature } from 'ethers'
import type { Wallet } from 'ethers'
import { deployCreditVault, eventsOf, lockIdOf, signVoucher, vaultDomain } from '../../src/ledger/contracts/index.js'
import type { CreditVaultContract } from '../../src/ledger/contracts/index.js'
import { deployFeeOnTransferToken } from './bindings/fee-on-transfer-token.js'
import { deployHostileToken } from './bindings/hostile-token.js'
import { startAnvil, type Anvil } from './harness/anvil.js'
import { deployAll, expectRevert, PARAMS, type Deployment } from './harness/deploy.js'
import { freshSalt, mined } from './harness/tx.js'

const E = (n: string): bigint => parseEther(n)

describe('CreditVault', () => {
  let anvil: Anvil
  let d: Deployment
  let snap: string
  let payer: Wallet
  let provider: Wallet
  let other: Wallet

  beforeAll(async () => {
    anvil = await startAnvil()
    d = await deployAll(anvil)
    ;[, payer, provider, other] = anvil.wallets
    for (const w of [payer, provider, other]) {
      await mined(d.token.mint(w.address, E('1000')))
      await mined(d.token.connect(w).approve(d.addresses.vault, MaxUint256))
    }
  })
  afterAll(async () => { await anvil?.stop() })
  beforeEach(async () => { snap = await anvil.snapshot() })
  afterEach(async () => { await anvil.revert(snap) })

  const vaultOf = (w: Wallet): CreditVaultContract => d.vault.connect(w)
  const openLock = async (amount: bigint, ttl = 3600n, salt = freshSalt()): Promise<{ lockId: string, salt: bigint, expiry: bigint }> => {
    const expiry = (await anvil.now()) + ttl
    await mined(vaultOf(payer).lock(provider.address, amount, expiry, salt))
    return { lockId: lockIdOf(payer.address, provider.address, salt), salt, expiry }
  }
  const voucher = async (lockId: string, cumulativeAmount: bigint, signer: Wallet = payer) =>
    await signVoucher(signer, d.vaultDomain, { lockId, cumulativeAmount })

  it('exposes its configuration', async () => {
    expect(await d.vault.token()).toBe(d.addresses.token)
    expect(await d.vault.withdrawalDelay()).toBe(PARAMS.withdrawalDelay)
    expect(await d.vault.maxLockDuration()).toBe(PARAMS.maxLockDuration)
  })

  describe('deposits', () => {
    it('credits the free balance and emits Deposited', async () => {
      const r = await mined(vaultOf(payer).deposit(E('10')))
      expect(await d.vault.freeBalanceOf(payer.address)).toBe(E('10'))
      expect(await d.token.balanceOf(d.addresses.vault)).toBe(E('10'))
      expect(eventsOf(d.vault, r, 'Deposited')).toEqual([{ account: payer.address, from: payer.address, amount: E('10') }])
    })

    it('refuses zero and amounts above the balance, changing nothing', async () => {
      await expectRevert(vaultOf(payer).deposit(0n), d.vault, 'InvalidAmount')
      await expectRevert(vaultOf(payer).deposit(E('1001')), d.token, 'ERC20InsufficientBalance')
      expect(await d.vault.freeBalanceOf(payer.address)).toBe(0n)
    })

    it('deposits for another account, paid by the caller', async () => {
      await mined(vaultOf(payer).depositFor(other.address, E('3')))
      expect(await d.vault.freeBalanceOf(other.address)).toBe(E('3'))
      expect(await d.token.balanceOf(payer.address)).toBe(E('997'))
    })

    const permitFor = async (owner: Wallet, value: bigint): Promise<{ deadline: bigint, sig: Signature }> => {
      const deadline = (await anvil.now()) + 600n
      const sig = Signature.from(await owner.signTypedData(
        { name: 'Meshnode FTNS', version: '1', chainId: anvil.chainId, verifyingContract: d.addresses.token },
        { Permit: [{ name: 'owner', type: 'address' }, { name: 'spender', type: 'address' }, { name: 'value', type: 'uint256' }, { name: 'nonce', type: 'uint256' }, { name: 'deadline', type: 'uint256' }] },
        { owner: owner.address, spender: d.addresses.vault, value, nonce: await d.token.nonces(owner.address), deadline }))
      return { deadline, sig }
    }

    it('deposits with an EIP-2612 permit and no prior approval', async () => {
      const fresh = anvil.wallets[5]
      await mined(d.token.mint(fresh.address, E('5')))
      const { deadline, sig } = await permitFor(fresh, E('5'))
      await mined(vaultOf(fresh).depositWithPermit(E('5'), deadline, sig.v, sig.r, sig.s))
      expect(await d.vault.freeBalanceOf(fresh.address)).toBe(E('5'))
    })

    it('still deposits when someone front-ran the permit (the allowance is there)', async () => {
      const fresh = anvil.wallets[6]
      await mined(d.token.mint(fresh.address, E('5')))
      const { deadline, sig } = await permitFor(fresh, E('5'))
      await mined(d.token.connect(other).permit(fresh.address, d.addresses.vault, E('5'), deadline, sig.v, sig.r, sig.s))
      await mined(vaultOf(fresh).depositWithPermit(E('5'), deadline, sig.v, sig.r, sig.s))
      expect(await d.vault.freeBalanceOf(fresh.address)).toBe(E('5'))
    })

    it('refuses the zero address as the account credited or as a locker', async () => {
      const zero = '0x0000000000000000000000000000000000000000'
      await expectRevert(vaultOf(payer).depositFor(zero, E('1')), d.vault, 'ZeroAddress')
      await expectRevert(vaultOf(payer).approveLocker(zero, 1n), d.vault, 'ZeroAddress')
    })
  })

  describe('withdrawals', () => {
    beforeEach(async () => { await mined(vaultOf(payer).deposit(E('10'))) })

    it('moves the amount out of the free balance at once and pays it only after the delay', async () => {
      const r = await mined(vaultOf(payer).requestWithdrawal(E('4')))
      const [ev] = eventsOf(d.vault, r, 'WithdrawalRequested')
      expect(ev.amount).toBe(E('4'))
      expect(ev.pending).toBe(E('4'))
      expect(await d.vault.freeBalanceOf(payer.address)).toBe(E('6'))
      await expectRevert(vaultOf(payer).completeWithdrawal(), d.vault, 'WithdrawalNotReady', [ev.readyAt])
      await anvil.warp(PARAMS.withdrawalDelay - 5n)
      await expectRevert(vaultOf(payer).completeWithdrawal(), d.vault, 'WithdrawalNotReady')
      await anvil.warp(5n)
      const done = await mined(vaultOf(payer).completeWithdrawal())
      expect(eventsOf(d.vault, done, 'Withdrawn')).toEqual([{ account: payer.address, amount: E('4') }])
      expect(await d.token.balanceOf(payer.address)).toBe(E('994'))
      await expectRevert(vaultOf(payer).completeWithdrawal(), d.vault, 'NoPendingWithdrawal')
    })

    it('restarts the delay for the whole pending amount on a second request', async () => {
      await mined(vaultOf(payer).requestWithdrawal(E('1')))
      await anvil.warp(PARAMS.withdrawalDelay - 10n)
      await mined(vaultOf(payer).requestWithdrawal(E('2')))
      await anvil.warp(20n)
      await expectRevert(vaultOf(payer).completeWithdrawal(), d.vault, 'WithdrawalNotReady')
      const w = await d.vault.withdrawalOf(payer.address)
      expect(w.amount).toBe(E('3'))
      await anvil.warp(PARAMS.withdrawalDelay)
      await mined(vaultOf(payer).completeWithdrawal())
      expect(await d.token.balanceOf(payer.address)).toBe(E('993'))
    })

    it('cancels a pending withdrawal back into the free balance', async () => {
      await mined(vaultOf(payer).requestWithdrawal(E('4')))
      const r = await mined(vaultOf(payer).cancelWithdrawal())
      expect(eventsOf(d.vault, r, 'WithdrawalCancelled')).toEqual([{ account: payer.address, amount: E('4') }])
      expect(await d.vault.freeBalanceOf(payer.address)).toBe(E('10'))
      await expectRevert(vaultOf(payer).cancelWithdrawal(), d.vault, 'NoPendingWithdrawal')
    })

    it('refuses to withdraw more than the free balance, and locked funds are not free', async () => {
      await expectRevert(vaultOf(payer).requestWithdrawal(E('11')), d.vault, 'InsufficientFreeBalance', [E('10'), E('11')])
      await expectRevert(vaultOf(payer).requestWithdrawal(0n), d.vault, 'InvalidAmount')
      await openLock(E('7'))
      await expectRevert(vaultOf(payer).requestWithdrawal(E('4')), d.vault, 'InsufficientFreeBalance', [E('3'), E('4')])
    })
  })

  describe('locks and vouchers', () => {
    beforeEach(async () => { await mined(vaultOf(payer).deposit(E('10'))) })

    it('opens a lock from the free balance, with the id the client computed', async () => {
      const salt = freshSalt()
      const expiry = (await anvil.now()) + 3600n
      const lockId = lockIdOf(payer.address, provider.address, salt)
      expect(await d.vault.lockIdOf(payer.address, provider.address, salt)).toBe(lockId)
      const r = await mined(vaultOf(payer).lock(provider.address, E('4'), expiry, salt))
      expect(eventsOf(d.vault, r, 'LockOpened')).toEqual([{ lockId, payer: payer.address, provider: provider.address, amount: E('4'), expiry, salt, opener: payer.address }])
      expect(await d.vault.freeBalanceOf(payer.address)).toBe(E('6'))
      const l = await d.vault.getLock(lockId)
      expect([l.amount, l.redeemed, l.expiry, l.closed]).toEqual([E('4'), 0n, expiry, false])
      await expectRevert(vaultOf(payer).lock(provider.address, E('1'), expiry, salt), d.vault, 'LockExists', [lockId])
    })

    it('refuses bad locks', async () => {
      const now = await anvil.now()
      await expectRevert(vaultOf(payer).lock(provider.address, E('11'), now + 60n, 1n), d.vault, 'InsufficientFreeBalance')
      await expectRevert(vaultOf(payer).lock(provider.address, 0n, now + 60n, 1n), d.vault, 'InvalidAmount')
      await expectRevert(vaultOf(payer).lock(provider.address, 1n << 96n, now + 60n, 1n), d.vault, 'InvalidAmount')
      await expectRevert(vaultOf(payer).lock(provider.address, 1n, now, 1n), d.vault, 'InvalidExpiry')
      await expectRevert(vaultOf(payer).lock(provider.address, 1n, now + PARAMS.maxLockDuration + 60n, 1n), d.vault, 'InvalidExpiry')
      await expectRevert(vaultOf(payer).lock('0x0000000000000000000000000000000000000000', 1n, now + 60n, 1n), d.vault, 'ZeroAddress')
    })

    it('pays cumulative vouchers: each pays what it adds, into the provider\'s free balance', async () => {
      const { lockId, salt } = await openLock(E('5'))
      const v1 = await voucher(lockId, E('1'))
      const r1 = await mined(vaultOf(provider).redeem(payer.address, salt, E('1'), v1.r, v1.vs))
      expect(eventsOf(d.vault, r1, 'Redeemed')).toEqual([{ lockId, provider: provider.address, cumulativeAmount: E('1'), paid: E('1') }])
      const v3 = await voucher(lockId, E('3'))
      await mined(vaultOf(provider).redeem(payer.address, salt, E('3'), v3.r, v3.vs))
      expect(await d.vault.freeBalanceOf(provider.address)).toBe(E('3'))
      expect((await d.vault.getLock(lockId)).redeemed).toBe(E('3'))
      // an older voucher, or the same one again, pays nothing more
      await expectRevert(vaultOf(provider).redeem(payer.address, salt, E('1'), v1.r, v1.vs), d.vault, 'VoucherAlreadyRedeemed', [lockId, E('3')])
      await expectRevert(vaultOf(provider).redeem(payer.address, salt, E('3'), v3.r, v3.vs), d.vault, 'VoucherAlreadyRedeemed')
      expect(await d.vault.freeBalanceOf(provider.address)).toBe(E('3'))
    })

    it('never pays more than the lock, even for a voucher above it', async () => {
      const { lockId, salt } = await openLock(E('5'))
      const big = await voucher(lockId, E('9'))
      const r = await mined(vaultOf(provider).redeem(payer.address, salt, E('9'), big.r, big.vs))
      expect(eventsOf(d.vault, r, 'Redeemed')[0].paid).toBe(E('5'))
      expect(await d.vault.freeBalanceOf(provider.address)).toBe(E('5'))
      const bigger = await voucher(lockId, E('12'))
      await expectRevert(vaultOf(provider).redeem(payer.address, salt, E('12'), bigger.r, bigger.vs), d.vault, 'VoucherAlreadyRedeemed')
    })

    it('refuses vouchers not signed by the payer, or redeemed by anyone but the provider', async () => {
      const { lockId, salt } = await openLock(E('5'))
      const forged = await voucher(lockId, E('1'), other)
      await expectRevert(vaultOf(provider).redeem(payer.address, salt, E('1'), forged.r, forged.vs), d.vault, 'InvalidVoucherSignature', [lockId])
      const good = await voucher(lockId, E('1'))
      // a different amount than signed
      await expectRevert(vaultOf(provider).redeem(payer.address, salt, E('2'), good.r, good.vs), d.vault, 'InvalidVoucherSignature')
      // someone else presenting the provider's voucher addresses a lock that does not exist
      const otherLock = lockIdOf(payer.address, other.address, salt)
      await expectRevert(vaultOf(other).redeem(payer.address, salt, E('1'), good.r, good.vs), d.vault, 'UnknownLock', [otherLock])
      // a voucher of one lock does not pay on another lock of the same payer and provider
      const second = await openLock(E('5'))
      await expectRevert(vaultOf(provider).redeem(payer.address, second.salt, E('1'), good.r, good.vs), d.vault, 'InvalidVoucherSignature')
      // a malleated (high-s) signature is refused
      const sig = Signature.from(good.signature)
      const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
      const highS = n - BigInt(sig.s)
      const vsHigh = '0x' + ((BigInt(sig.yParity === 1 ? 0 : 1) << 255n) | highS).toString(16).padStart(64, '0')
      await expectRevert(vaultOf(provider).redeem(payer.address, salt, E('1'), sig.r, vsHigh), d.vault, 'InvalidVoucherSignature')
      expect(await d.vault.freeBalanceOf(provider.address)).toBe(0n)
    })

    it('redeems many vouchers over many locks and payers in one transaction, crediting the sum', async () => {
      await mined(vaultOf(other).deposit(E('10')))
      const locks = [await openLock(E('2')), await openLock(E('3'))]
      const salt3 = freshSalt()
      await mined(vaultOf(other).lock(provider.address, E('4'), (await anvil.now()) + 3600n, salt3))
      const lock3 = lockIdOf(other.address, provider.address, salt3)
      const claims = [
        { payer: payer.address, salt: locks[0].salt, cumulativeAmount: E('1'), ...(await voucher(locks[0].lockId, E('1'))) },
        { payer: payer.address, salt: locks[0].salt, cumulativeAmount: E('2'), ...(await voucher(locks[0].lockId, E('2'))) },
        { payer: payer.address, salt: locks[1].salt, cumulativeAmount: E('2.5'), ...(await voucher(locks[1].lockId, E('2.5'))) },
        { payer: other.address, salt: salt3, cumulativeAmount: E('4'), ...(await voucher(lock3, E('4'), other)) }
      ].map(({ payer, salt, cumulativeAmount, r, vs }) => ({ payer, salt, cumulativeAmount, r, vs }))
      expect(await vaultOf(provider).redeemMany.staticCall(claims)).toBe(E('8.5'))
      const r = await mined(vaultOf(provider).redeemMany(claims))
      expect(eventsOf(d.vault, r, 'Redeemed').map(e => e.paid)).toEqual([E('1'), E('1'), E('2.5'), E('4')])
      expect(await d.vault.freeBalanceOf(provider.address)).toBe(E('8.5'))
      // the same batch again: the first voucher is stale, so the whole batch reverts and nothing moves
      await expectRevert(vaultOf(provider).redeemMany(claims), d.vault, 'VoucherAlreadyRedeemed', [locks[0].lockId])
      expect(await d.vault.freeBalanceOf(provider.address)).toBe(E('8.5'))
    })

    it('stops paying vouchers after the expiry, and refunds the payer only what no voucher covered', async () => {
      const { lockId, salt, expiry } = await openLock(E('5'), 600n)
      const v = await voucher(lockId, E('2'))
      await mined(vaultOf(provider).redeem(payer.address, salt, E('2'), v.r, v.vs))
      await expectRevert(vaultOf(other).release(payer.address, provider.address, salt), d.vault, 'LockNotExpired', [lockId])
      await expectRevert(vaultOf(payer).release(payer.address, provider.address, salt), d.vault, 'LockNotExpired')
      await anvil.warp(expiry - (await anvil.now()) + 1n)
      const later = await voucher(lockId, E('4'))
      await expectRevert(vaultOf(provider).redeem(payer.address, salt, E('4'), later.r, later.vs), d.vault, 'LockExpired', [lockId])
      const r = await mined(vaultOf(other).release(payer.address, provider.address, salt))
      expect(eventsOf(d.vault, r, 'LockReleased')).toEqual([{ lockId, payer: payer.address, refund: E('3'), by: other.address }])
      expect(await d.vault.freeBalanceOf(payer.address)).toBe(E('8'))
      expect(await d.vault.freeBalanceOf(provider.address)).toBe(E('2'))
      await expectRevert(vaultOf(other).release(payer.address, provider.address, salt), d.vault, 'LockClosed', [lockId])
      await expectRevert(vaultOf(other).release(payer.address, other.address, salt), d.vault, 'UnknownLock')
    })

    it('lets the provider close a lock early, after which no voucher pays', async () => {
      const { lockId, salt } = await openLock(E('5'))
      const v = await voucher(lockId, E('1'))
      await mined(vaultOf(provider).redeem(payer.address, salt, E('1'), v.r, v.vs))
      await mined(vaultOf(provider).release(payer.address, provider.address, salt))
      expect(await d.vault.freeBalanceOf(payer.address)).toBe(E('9'))
      const v2 = await voucher(lockId, E('2'))
      await expectRevert(vaultOf(provider).redeem(payer.address, salt, E('2'), v2.r, v2.vs), d.vault, 'LockClosed')
    })
  })

  describe('lockers', () => {
    beforeEach(async () => { await mined(vaultOf(payer).deposit(E('10'))) })

    it('lets an approved locker lock the payer\'s funds up to its allowance, and nobody else', async () => {
      const expiry = (await anvil.now()) + 3600n
      await expectRevert(vaultOf(other).lockFor(payer.address, provider.address, E('1'), expiry, 1n), d.vault, 'InsufficientLockAllowance', [0n, E('1')])
      const approval = await mined(vaultOf(payer).approveLocker(other.address, E('3')))
      expect(eventsOf(d.vault, approval, 'LockerApproval')).toEqual([{ payer: payer.address, locker: other.address, amount: E('3') }])
      const r = await mined(vaultOf(other).lockFor(payer.address, provider.address, E('2'), expiry, 1n))
      expect(eventsOf(d.vault, r, 'LockerApproval')).toEqual([{ payer: payer.address, locker: other.address, amount: E('1') }])
      expect(eventsOf(d.vault, r, 'LockOpened')[0].opener).toBe(other.address)
      expect(await d.vault.lockAllowance(payer.address, other.address)).toBe(E('1'))
      await expectRevert(vaultOf(other).lockFor(payer.address, provider.address, E('2'), expiry, 2n), d.vault, 'InsufficientLockAllowance', [E('1'), E('2')])
      expect(await d.vault.freeBalanceOf(payer.address)).toBe(E('8'))
    })

    it('does not spend an unlimited allowance', async () => {
      await mined(vaultOf(payer).approveLocker(other.address, MaxUint256))
      const r = await mined(vaultOf(other).lockFor(payer.address, provider.address, E('2'), (await anvil.now()) + 3600n, 1n))
      expect(eventsOf(d.vault, r, 'LockerApproval')).toEqual([])
      expect(await d.vault.lockAllowance(payer.address, other.address)).toBe(MaxUint256)
    })
  })

  describe('hostile tokens', () => {
    it('refuses fee-on-transfer tokens at deposit', async () => {
      const fee = await deployFeeOnTransferToken(d.admin)
      const vault = await deployCreditVault(d.admin, await fee.getAddress(), 3600n, 86400n)
      await mined(fee.mint(payer.address, E('100')))
      await mined(fee.connect(payer).approve(await vault.getAddress(), MaxUint256))
      await expectRevert(vault.connect(payer).deposit(E('10')), vault, 'TransferAmountMismatch', [E('10'), E('9.9')])
      expect(await vault.freeBalanceOf(payer.address)).toBe(0n)
      expect(await fee.balanceOf(await vault.getAddress())).toBe(0n)
    })

    it('blocks re-entry from the token during a withdrawal and a deposit', async () => {
      const host = await deployHostileToken(d.admin)
      const vault = await deployCreditVault(d.admin, await host.getAddress(), 0n, 86400n)
      const vaultAddress = await vault.getAddress()
      await mined(host.mint(payer.address, E('100')))
      await mined(host.connect(payer).approve(vaultAddress, MaxUint256))
      await mined(vault.connect(payer).deposit(E('10')))
      await mined(vault.connect(payer).requestWithdrawal(E('10')))
      // during the payout, the token calls completeWithdrawal again (as itself) and tries to deposit more
      const guard = vault.interface.getError('ReentrancyGuardReentrantCall')?.selector
      await mined(host.arm(vaultAddress, vault.interface.encodeFunctionData('completeWithdrawal')))
      await mined(vault.connect(payer).completeWithdrawal())
      expect(await host.attempts()).toBe(1n)
      expect(await host.successes()).toBe(0n)
      expect(await host.lastError()).toBe(guard)
      expect(await host.balanceOf(payer.address)).toBe(E('100'))
      expect(await host.balanceOf(vaultAddress)).toBe(0n)
      await mined(host.arm(vaultAddress, vault.interface.encodeFunctionData('deposit', [E('1')])))
      await mined(vault.connect(payer).deposit(E('5')))
      expect(await host.attempts()).toBe(2n)
      expect(await host.successes()).toBe(0n)
      expect(await vault.freeBalanceOf(payer.address)).toBe(E('5'))
      expect(await host.balanceOf(vaultAddress)).toBe(E('5'))
    })
  })

  it('binds its EIP-712 domain to the chain and this vault', async () => {
    expect(await d.vault.domainSeparator()).toBe(
      (await import('ethers')).TypedDataEncoder.hashDomain(vaultDomain(anvil.chainId, d.addresses.vault)))
  })
})
