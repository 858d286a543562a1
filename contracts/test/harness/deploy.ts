/**
 * Deploys the meshnode contracts on a test anvil (FTNS, vault, market, a quote token) and gives tests the handles,
 * the EIP-712 domains and small helpers for funding accounts and asserting custom errors.
 */
import { expect } from 'vitest'
import { MaxUint256, parseEther } from 'ethers'
import type { TypedDataDomain, Wallet } from 'ethers'
import {
  deployComputeMarket, deployCreditVault, deployFTNSToken, deployTestQuoteToken, errorOf, marketDomain, vaultDomain
} from '../../../src/ledger/contracts/index.js'
import type {
  ComputeMarketContract, CreditVaultContract, FTNSTokenContract, TestQuoteTokenContract, TypedContract
} from '../../../src/ledger/contracts/index.js'
import type { Anvil } from './anvil.js'

/** Default parameters of a test deployment. */
export const PARAMS = {
  cap: parseEther('1000000000'),
  withdrawalDelay: 3600n,
  maxLockDuration: 30n * 24n * 3600n,
  unitSeconds: 60n,
  settlementGrace: 3600n
}

/** A deployment and its actors. */
export interface Deployment {
  anvil: Anvil
  admin: Wallet
  token: FTNSTokenContract
  vault: CreditVaultContract
  market: ComputeMarketContract
  quote: TestQuoteTokenContract
  vaultDomain: TypedDataDomain
  marketDomain: TypedDataDomain
  addresses: { token: string, vault: string, market: string, quote: string }
}

/** Deploys FTNS (wallet 0 is admin and minter), the vault, the market and a 6-decimal quote token. */
export async function deployAll (anvil: Anvil, params: Partial<typeof PARAMS> = {}): Promise<Deployment> {
  const p = { ...PARAMS, ...params }
  const admin = anvil.wallets[0]
  const token = await deployFTNSToken(admin, 'Meshnode FTNS', 'FTNS', p.cap, admin.address)
  const minter = await token.MINTER_ROLE()
  await (await token.grantRole(minter, admin.address)).wait()
  const tokenAddress = await token.getAddress()
  const vault = await deployCreditVault(admin, tokenAddress, p.withdrawalDelay, p.maxLockDuration)
  const vaultAddress = await vault.getAddress()
  const market = await deployComputeMarket(admin, vaultAddress, p.unitSeconds, p.settlementGrace)
  const quote = await deployTestQuoteToken(admin, 'Test USD', 'TUSD', 6, admin.address)
  const addresses = { token: tokenAddress, vault: vaultAddress, market: await market.getAddress(), quote: await quote.getAddress() }
  return {
    anvil,
    admin,
    token,
    vault,
    market,
    quote,
    vaultDomain: vaultDomain(anvil.chainId, vaultAddress),
    marketDomain: marketDomain(anvil.chainId, addresses.market),
    addresses
  }
}

/** Mints `amount` FTNS to `who`, approves the vault, deposits it, and lets the market open locks for it. */
export async function fundInVault (d: Deployment, who: Wallet, amount: bigint): Promise<void> {
  await (await d.token.mint(who.address, amount)).wait()
  await (await d.token.connect(who).approve(d.addresses.vault, MaxUint256)).wait()
  await (await d.vault.connect(who).deposit(amount)).wait()
  await (await d.vault.connect(who).approveLocker(d.addresses.market, MaxUint256)).wait()
}

/** Asserts that `p` reverts with `contract`'s custom error `name` (and, when given, these leading arguments). */
export async function expectRevert<E, R extends string> (
  p: Promise<unknown>,
  contract: TypedContract<E, R>,
  name: R,
  args?: unknown[]
): Promise<void> {
  let caught: unknown
  try {
    await p
  } catch (err) {
    caught = err
  }
  expect(caught, `expected a revert with ${name}`).toBeDefined()
  const decoded = errorOf(contract, caught)
  expect(decoded?.name, `revert: ${String(caught)}`).toBe(name)
  if (args !== undefined) expect(decoded?.args.slice(0, args.length)).toEqual(args)
}
