/**
 * FTNSToken: the minter role mints within the cap and nothing else; no role can burn or move tokens someone else holds;
 * permits work and are bound to the chain and the token.
 */
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest'
import { parseEther, Signature } from 'ethers'
import { eventsOf } from '../../src/ledger/contracts/index.js'
import { startAnvil, type Anvil } from './harness/anvil.js'
import { deployAll, expectRevert, PARAMS, type Deployment } from './harness/deploy.js'

describe('FTNSToken', () => {
  let anvil: Anvil
  let d: Deployment
  let snap: string

  beforeAll(async () => {
    anvil = await startAnvil()
    d = await deployAll(anvil)
  })
  afterAll(async () => { await anvil?.stop() })
  beforeEach(async () => { snap = await anvil.snapshot() })
  afterEach(async () => { await anvil.revert(snap) })

  it('has the configured name, symbol, decimals and cap, and starts with no supply', async () => {
    expect(await d.token.name()).toBe('Meshnode FTNS')
    expect(await d.token.symbol()).toBe('FTNS')
    expect(await d.token.decimals()).toBe(18n)
    expect(await d.token.cap()).toBe(PARAMS.cap)
    expect(await d.token.totalSupply()).toBe(0n)
  })

  it('lets only the minter role mint, and never past the cap', async () => {
    const [, alice, bob] = anvil.wallets
    const minter = await d.token.MINTER_ROLE()
    await expectRevert(d.token.connect(alice).mint(alice.address, 1n), d.token, 'AccessControlUnauthorizedAccount', [alice.address, minter])
    const r = await (await d.token.mint(bob.address, parseEther('5'))).wait()
    expect(eventsOf(d.token, r, 'Transfer')).toEqual([{ from: '0x0000000000000000000000000000000000000000', to: bob.address, value: parseEther('5') }])
    await expectRevert(d.token.mint(bob.address, PARAMS.cap), d.token, 'ERC20ExceededCap', [PARAMS.cap + parseEther('5'), PARAMS.cap])
    await (await d.token.mint(bob.address, PARAMS.cap - parseEther('5'))).wait()
    expect(await d.token.totalSupply()).toBe(PARAMS.cap)
    await expectRevert(d.token.mint(bob.address, 1n), d.token, 'ERC20ExceededCap')
  })

  it('has no function by which a role could burn, seize or move tokens held by someone else', async () => {
    const mutating = d.token.interface.fragments
      .filter(f => f.type === 'function')
      .map(f => d.token.interface.getFunction((f as { format: () => string }).format()))
      .filter(f => f !== null && !f.constant)
      .map(f => f?.name)
      .sort()
    // the complete list: anything added here (burn, burnFrom, a forced transfer, pause...) must be reviewed
    expect(mutating).toEqual([
      'approve', 'grantRole', 'mint', 'permit', 'renounceRole', 'revokeRole', 'transfer', 'transferFrom'
    ])
  })

  it('gives the admin no power over balances: transferFrom without an allowance fails even for admin and minter', async () => {
    const [admin, alice] = anvil.wallets
    await (await d.token.mint(alice.address, 100n)).wait()
    await expectRevert(d.token.connect(admin).transferFrom(alice.address, admin.address, 1n), d.token, 'ERC20InsufficientAllowance')
    expect(await d.token.balanceOf(alice.address)).toBe(100n)
  })

  it('lets the admin grant and revoke the minter role, and nobody else', async () => {
    const [, alice, bob] = anvil.wallets
    const minter = await d.token.MINTER_ROLE()
    await expectRevert(d.token.connect(alice).grantRole(minter, alice.address), d.token, 'AccessControlUnauthorizedAccount')
    await (await d.token.grantRole(minter, alice.address)).wait()
    await (await d.token.connect(alice).mint(bob.address, 7n)).wait()
    await (await d.token.revokeRole(minter, alice.address)).wait()
    await expectRevert(d.token.connect(alice).mint(bob.address, 7n), d.token, 'AccessControlUnauthorizedAccount')
    expect(await d.token.balanceOf(bob.address)).toBe(7n)
  })

  it('accepts an EIP-2612 permit once, and refuses one signed for another chain', async () => {
    const [, alice, bob] = anvil.wallets
    const deadline = (await anvil.now()) + 3600n
    const domain = { name: 'Meshnode FTNS', version: '1', chainId: anvil.chainId, verifyingContract: d.addresses.token }
    const types = { Permit: [{ name: 'owner', type: 'address' }, { name: 'spender', type: 'address' }, { name: 'value', type: 'uint256' }, { name: 'nonce', type: 'uint256' }, { name: 'deadline', type: 'uint256' }] }
    const value = { owner: alice.address, spender: bob.address, value: 50n, nonce: 0n, deadline }
    const sig = Signature.from(await alice.signTypedData(domain, types, value))
    await (await d.token.permit(alice.address, bob.address, 50n, deadline, sig.v, sig.r, sig.s)).wait()
    expect(await d.token.allowance(alice.address, bob.address)).toBe(50n)
    await expectRevert(d.token.permit(alice.address, bob.address, 50n, deadline, sig.v, sig.r, sig.s), d.token, 'ERC2612InvalidSigner')
    const other = Signature.from(await alice.signTypedData({ ...domain, chainId: 1n }, types, { ...value, nonce: 1n }))
    await expectRevert(d.token.permit(alice.address, bob.address, 50n, deadline, other.v, other.r, other.s), d.token, 'ERC2612InvalidSigner')
  })
})
