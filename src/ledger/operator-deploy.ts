/**
 * An operator's deployment to a public network (`meshnode contracts deploy --network amoy`): checks that the RPC
 * serves the network's chain, bids fees by the network's rules (the 25 gwei priority floor on Polygon and Amoy), and
 * deploys the three contracts from the operator's funded key. The addresses then go into configs/networks/<n>.yaml.
 */
import { Wallet } from 'ethers'
import { createChainProvider, feePolicyFor, initialFees } from './chain/index.js'
import { LedgerError } from './errors.js'
import { LOCAL_CHAIN_ID } from './local/anvil.js'
import { deployContracts, LOCAL_DEPLOY_PARAMS, PUBLIC_DEPLOY_PARAMS, type ContractAddresses } from './local/deploy.js'

/** What an operator deployment needs. */
export interface OperatorDeployInit {
  rpcUrls: readonly string[]
  chainId: number
  /** The operator's funded private key (hex). */
  privateKey: string
  timeoutMs?: number
}

/** What an operator deployment did. */
export interface OperatorDeployResult {
  chainId: number
  deployer: string
  contracts: ContractAddresses
  /** The block of the first deployment: `chain.fromBlock`, where the event indexer starts. */
  fromBlock: number
}

/** Deploy the contracts with an operator's key on the chain behind `rpcUrls`, which must be chain `chainId`. */
export async function deployForOperator (init: OperatorDeployInit): Promise<OperatorDeployResult> {
  if (init.rpcUrls.length === 0) throw new LedgerError('ERR_CHAIN_UNAVAILABLE', 'no RPC URL: set MESHNODE_RPC_URLS (or chain.rpcUrls in the config file)')
  const provider = createChainProvider({ urls: init.rpcUrls, network: { chainId: BigInt(init.chainId), automine: init.chainId === LOCAL_CHAIN_ID }, timeoutMs: init.timeoutMs })
  try {
    const actual = Number(BigInt(await provider.send('eth_chainId', []) as string))
    if (actual !== init.chainId) throw new LedgerError('ERR_CHAIN_MISMATCH', `the RPC serves chain ${actual}, not chain ${init.chainId}: refusing to deploy`)
    let signer: Wallet
    try {
      signer = new Wallet(init.privateKey, provider)
    } catch {
      // never echo the key
      throw new LedgerError('ERR_WALLET', 'the deployer key is not a valid hex private key')
    }
    const balance = await provider.getBalance(signer.address)
    if (balance === 0n) throw new LedgerError('ERR_INSUFFICIENT_FUNDS', `the deployer ${signer.address} holds no native token for gas on chain ${actual}`)
    const head = await provider.getBlock('latest')
    const fees = initialFees(feePolicyFor(BigInt(actual)), { baseFee: head?.baseFeePerGas ?? 0n })
    const params = actual === LOCAL_CHAIN_ID ? LOCAL_DEPLOY_PARAMS : PUBLIC_DEPLOY_PARAMS
    const { addresses, fromBlock } = await deployContracts(signer, params, { maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas })
    return { chainId: actual, deployer: signer.address, contracts: addresses, fromBlock }
  } finally {
    provider.destroy()
  }
}
