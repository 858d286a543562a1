/**
 * Deploying the three contracts, and finding them again.
 *
 * On `local` every node must find the same addresses without talking to the others: the deployer is a fixed,
 * publicly known key (a development chain has nothing to protect) and the contracts are created at its nonces 0, 1
 * and 2, so their addresses follow from the key alone (`localContractAddresses`). Find-or-deploy resumes from the
 * deployer's nonce, so a deploy cut short is finished by the next node, and running it again changes nothing.
 *
 * On Amoy and Polygon an operator deploys once with a funded key (`meshnode contracts deploy`) and the addresses go
 * into configs/networks/<network>.yaml.
 */
import { getCreateAddress, id, Wallet, type Provider, type Signer, type TransactionRequest } from 'ethers'
import {
  attachFTNSToken, computeMarketDeployData, creditVaultDeployData, ftnSTokenDeployData
} from '../contracts/index.js'
import { LedgerError } from '../errors.js'

/** A provider that passes raw JSON-RPC calls (anvil's dev methods). */
export interface DevRpc {
  send: (method: string, params: unknown[]) => Promise<unknown>
}

/** The addresses of a deployment, by contract name (the keys of `chain.contracts`). */
export interface ContractAddresses {
  FTNSToken: string
  CreditVault: string
  ComputeMarket: string
}

/** Constructor parameters of a deployment. */
export interface DeployParams {
  /** FTNS supply cap, wei. */
  cap: bigint
  /** Seconds between a withdrawal request and its completion. */
  withdrawalDelay: bigint
  maxLockDuration: bigint
  unitSeconds: bigint
  settlementGrace: bigint
}

/** The local chain's parameters: fixed, since they are part of what every node expects at the fixed addresses. */
export const LOCAL_DEPLOY_PARAMS: Readonly<DeployParams> = Object.freeze({
  cap: 10n ** 9n * 10n ** 18n,
  withdrawalDelay: 60n,
  maxLockDuration: 30n * 24n * 3600n,
  unitSeconds: 60n,
  settlementGrace: 3600n
})

/** Public networks: withdrawals wait a day, so a payer cannot pull funds out from under a running job. */
export const PUBLIC_DEPLOY_PARAMS: Readonly<DeployParams> = Object.freeze({ ...LOCAL_DEPLOY_PARAMS, withdrawalDelay: 24n * 3600n })

/**
 * The local deployer (also the faucet's minter): a key derived from a fixed phrase, known to everyone, funded with
 * anvil's `anvil_setBalance`. Only ever used on chain 31337.
 */
export const LOCAL_DEPLOYER_KEY = id('meshnode local chain deployer v1')

/** The transactions of a deployment, in nonce order: three creations, then the minter role for the deployer. */
export const DEPLOY_STEPS = ['FTNSToken', 'CreditVault', 'ComputeMarket', 'grantMinter'] as const

/** The addresses a deployment by `deployer` starting at `firstNonce` creates (nonces firstNonce..+2). */
export function deploymentAddresses (deployer: string, firstNonce = 0): ContractAddresses {
  return {
    FTNSToken: getCreateAddress({ from: deployer, nonce: firstNonce }),
    CreditVault: getCreateAddress({ from: deployer, nonce: firstNonce + 1 }),
    ComputeMarket: getCreateAddress({ from: deployer, nonce: firstNonce + 2 })
  }
}

/** The address of the local deployer. */
export function localDeployerAddress (): string {
  return new Wallet(LOCAL_DEPLOYER_KEY).address
}

/** Where the contracts are on every `local` chain. */
export function localContractAddresses (): ContractAddresses {
  return deploymentAddresses(localDeployerAddress(), 0)
}

/** The transaction of deploy step `step` (0..3) of a deployment whose first nonce gives `addresses`. */
export async function deployStepTx (step: number, addresses: ContractAddresses, deployer: string, p: DeployParams): Promise<TransactionRequest> {
  switch (DEPLOY_STEPS[step]) {
    case 'FTNSToken': return { data: await ftnSTokenDeployData('Meshnode FTNS', 'FTNS', p.cap, deployer) }
    case 'CreditVault': return { data: await creditVaultDeployData(addresses.FTNSToken, p.withdrawalDelay, p.maxLockDuration) }
    case 'ComputeMarket': return { data: await computeMarketDeployData(addresses.CreditVault, p.unitSeconds, p.settlementGrace) }
    case 'grantMinter': {
      const token = attachFTNSToken(addresses.FTNSToken)
      return { to: addresses.FTNSToken, data: token.interface.encodeFunctionData('grantRole', [id('MINTER_ROLE'), deployer]) }
    }
    default: throw new RangeError(`no deploy step ${step}`)
  }
}

async function sendStep (signer: Signer, step: number, nonce: number, addresses: ContractAddresses, deployer: string, p: DeployParams, extra: TransactionRequest): Promise<number> {
  const tx = await signer.sendTransaction({ ...await deployStepTx(step, addresses, deployer, p), ...extra, nonce })
  const receipt = await tx.wait()
  if (receipt?.status !== 1) throw new LedgerError('ERR_TX_FAILED', `deploy step ${DEPLOY_STEPS[step]} (tx ${tx.hash}) reverted`)
  return receipt.blockNumber
}

async function hasCode (provider: Provider, address: string): Promise<boolean> {
  return (await provider.getCode(address)) !== '0x'
}

/**
 * Find the local contracts, deploying whatever is missing. Safe to run again and from several nodes one after the
 * other (callers serialise it across processes: see `withAnvilLock`). Returns the addresses and whether it deployed.
 */
export async function ensureLocalContracts (provider: Provider & DevRpc, p: DeployParams = LOCAL_DEPLOY_PARAMS): Promise<{ addresses: ContractAddresses, deployed: boolean }> {
  const signer = new Wallet(LOCAL_DEPLOYER_KEY, provider)
  const deployer = signer.address
  const addresses = deploymentAddresses(deployer, 0)
  let nonce = await provider.getTransactionCount(deployer, 'latest')
  const deployed = nonce < DEPLOY_STEPS.length
  if (deployed) {
    // gas money for the deployer: a dev-chain method, so this path runs only against anvil
    await provider.send('anvil_setBalance', [deployer, '0x' + (10n ** 22n).toString(16)])
    for (; nonce < DEPLOY_STEPS.length; nonce++) await sendStep(signer, nonce, nonce, addresses, deployer, p, {})
  }
  for (const [name, address] of Object.entries(addresses)) {
    if (!await hasCode(provider, address)) throw new LedgerError('ERR_NOT_DEPLOYED', `no ${name} at ${address} although the local deployer's nonce is ${nonce}: the local chain's state is inconsistent (delete its state file)`)
  }
  return { addresses, deployed }
}

/**
 * Deploy a fresh set of contracts with `signer` (an operator's funded key on Amoy or Polygon), from its current
 * nonce. `overrides` carries the network's fee bids. Returns the addresses and the first deployment's block.
 */
export async function deployContracts (signer: Signer, p: DeployParams, overrides: TransactionRequest = {}): Promise<{ addresses: ContractAddresses, fromBlock: number }> {
  const deployer = await signer.getAddress()
  const provider = signer.provider
  if (provider == null) throw new LedgerError('ERR_CHAIN_UNAVAILABLE', 'the deployer has no provider')
  const first = await provider.getTransactionCount(deployer, 'pending')
  const addresses = deploymentAddresses(deployer, first)
  let fromBlock = 0
  for (let step = 0; step < DEPLOY_STEPS.length; step++) {
    const block = await sendStep(signer, step, first + step, addresses, deployer, p, overrides)
    if (step === 0) fromBlock = block
  }
  return { addresses, fromBlock }
}
