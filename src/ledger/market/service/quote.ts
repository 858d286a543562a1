/**
 * `local` only: the test quote token the market trades FTNS against, deployed by the fixed local deployer right after
 * the ledger's contracts (a fixed key's first contract, so every local chain has it at the same address), and the faucet that tops
 * the node's wallet up with it. Run under the local chain's lock (one node deploys; the others find it).
 */
import { getCreateAddress, id, Wallet, type JsonRpcProvider } from 'ethers'
import { attachTestQuoteToken, testQuoteTokenDeployData } from '../../contracts/index.js'

/**
 * A fixed, public key of its own (the ledger's deployer also mints FTNS, so its nonces move): the token is its
 * nonce-0 contract and it is the token's minter. Dev chains only.
 */
const QUOTE_DEPLOYER_KEY = id('meshnode local test quote deployer v1')

/** The local test quote token: name, symbol, decimals. */
export const LOCAL_QUOTE = { name: 'Meshnode Test USD', decimals: 6 } as const

/** The address the local test quote token has on every local chain. */
export function localQuoteAddress (): string {
  return getCreateAddress({ from: new Wallet(QUOTE_DEPLOYER_KEY).address, nonce: 0 })
}

/** Deploys the test quote token unless it exists; returns its address. */
export async function ensureLocalQuote (provider: JsonRpcProvider, symbol: string): Promise<string> {
  const address = localQuoteAddress()
  if ((await provider.getCode(address)) !== '0x') return address
  const deployer = new Wallet(QUOTE_DEPLOYER_KEY, provider)
  await provider.send('anvil_setBalance', [deployer.address, '0x' + (10n ** 21n).toString(16)])
  const nonce = await provider.getTransactionCount(deployer.address, 'latest')
  if (nonce !== 0) throw new Error(`the quote deployer is at nonce ${nonce}, yet no token at ${address}: the local chain's state is inconsistent`)
  const tx = await deployer.sendTransaction({ data: await testQuoteTokenDeployData(LOCAL_QUOTE.name, symbol, LOCAL_QUOTE.decimals, deployer.address), nonce })
  await tx.wait()
  return address
}

/** Tops `account` up to `target` base units of the local quote token; returns what was minted. */
export async function quoteFaucet (provider: JsonRpcProvider, account: string, target: bigint): Promise<bigint> {
  const token = attachTestQuoteToken(localQuoteAddress(), new Wallet(QUOTE_DEPLOYER_KEY, provider))
  const have = await token.balanceOf(account)
  if (have >= target) return 0n
  await (await token.mint(account, target - have)).wait()
  return target - have
}
