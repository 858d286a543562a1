/**
 * The faucet of network `local`: tops a wallet up to a target of FTNS (minted by the local deployer, which holds the
 * minter role there) and of ETH for gas (anvil's `anvil_setBalance`). It exists only on chain 31337: on any other
 * chain it refuses before sending anything.
 */
import { Wallet, type Provider } from 'ethers'
import { attachFTNSToken } from '../contracts/index.js'
import { LedgerError } from '../errors.js'
import { LOCAL_CHAIN_ID } from './anvil.js'
import { LOCAL_DEPLOYER_KEY, type DevRpc } from './deploy.js'

/** What the faucet gave (wei), zero where the wallet already held the target. */
export interface FaucetResult { ftns: bigint, eth: bigint }

/**
 * Top `address` up to `targetFtns` FTNS and `targetEth` ETH (wei) on the local chain. Callers serialise it across
 * processes (`withLocalChainLock`): the mint is sent from the shared deployer key.
 */
export async function fundFromFaucet (provider: Provider & DevRpc, token: string, address: string, targetFtns: bigint, targetEth: bigint): Promise<FaucetResult> {
  const { chainId } = await provider.getNetwork()
  if (chainId !== BigInt(LOCAL_CHAIN_ID)) throw new LedgerError('ERR_NO_FAUCET', `the faucet exists only on the local chain (${LOCAL_CHAIN_ID}), not on chain ${chainId}`)
  const out: FaucetResult = { ftns: 0n, eth: 0n }
  const eth = await provider.getBalance(address)
  if (eth < targetEth) {
    await provider.send('anvil_setBalance', [address, '0x' + targetEth.toString(16)])
    out.eth = targetEth - eth
  }
  const ftns = attachFTNSToken(token, new Wallet(LOCAL_DEPLOYER_KEY, provider))
  const have = await ftns.balanceOf(address)
  if (have < targetFtns) {
    const tx = await ftns.mint(address, targetFtns - have)
    const receipt = await tx.wait()
    if (receipt?.status !== 1) throw new LedgerError('ERR_TX_FAILED', `faucet mint ${tx.hash} reverted`)
    out.ftns = targetFtns - have
  }
  return out
}
