import { describe, it, expect } from 'vitest'
import { AbiCoder, getCreateAddress, id, Wallet } from 'ethers'
import {
  DEPLOY_STEPS, LOCAL_DEPLOY_PARAMS, LOCAL_DEPLOYER_KEY, PUBLIC_DEPLOY_PARAMS, deployStepTx, deploymentAddresses,
  localContractAddresses, localDeployerAddress
} from '../../../src/ledger/local/deploy.js'
import { creditVaultArtifact, computeMarketArtifact, ftnSTokenArtifact, attachFTNSToken } from '../../../src/ledger/contracts/index.js'

const coder = AbiCoder.defaultAbiCoder()
/** The constructor arguments at the end of creation data (after the artifact's bytecode). */
function ctorArgs (data: string, bytecode: string, types: string[]): unknown[] {
  expect(data.startsWith(bytecode)).toBe(true)
  return [...coder.decode(types, '0x' + data.slice(bytecode.length))]
}

describe('deterministic deployment addressing', () => {
  it('every local chain has its contracts at the same addresses (changing the deployer key or the step order moves them all)', () => {
    expect(localDeployerAddress()).toBe(new Wallet(id('meshnode local chain deployer v1')).address)
    expect(localContractAddresses()).toEqual({
      FTNSToken: '0x53688EE2e014041637e82674d7D8A9Fb190D30f3',
      CreditVault: '0x721EC3f51D5ef1b569c5F71fb4D81a782f2c1d91',
      ComputeMarket: '0x313526f62E5588af1fA99E2506E02cEe52869534'
    })
    expect(DEPLOY_STEPS).toEqual(['FTNSToken', 'CreditVault', 'ComputeMarket', 'grantMinter'])
  })

  it.each([
    ['0x0000000000000000000000000000000000000001', 0],
    ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', 0],
    ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', 7],
    ['0x70997970C51812dc3A010C7d01b50e0d17dc79C8', 1000]
  ])('a deployment by %s from nonce %i creates its contracts at that nonce and the next two', (deployer, first) => {
    const a = deploymentAddresses(deployer, first)
    expect([a.FTNSToken, a.CreditVault, a.ComputeMarket]).toEqual([0, 1, 2].map(i => getCreateAddress({ from: deployer, nonce: first + i })))
    expect(new Set(Object.values(a)).size).toBe(3)
  })

  it('each step wires the contracts created by the steps before it', async () => {
    const deployer = new Wallet(LOCAL_DEPLOYER_KEY).address
    const a = localContractAddresses()
    const p = LOCAL_DEPLOY_PARAMS
    const token = await deployStepTx(0, a, deployer, p)
    expect(token.to).toBeUndefined()
    expect(ctorArgs(String(token.data), ftnSTokenArtifact.bytecode, ['string', 'string', 'uint256', 'address'])).toEqual(['Meshnode FTNS', 'FTNS', p.cap, deployer])
    const vault = await deployStepTx(1, a, deployer, p)
    expect(ctorArgs(String(vault.data), creditVaultArtifact.bytecode, ['address', 'uint256', 'uint256'])).toEqual([a.FTNSToken, p.withdrawalDelay, p.maxLockDuration])
    const market = await deployStepTx(2, a, deployer, p)
    expect(ctorArgs(String(market.data), computeMarketArtifact.bytecode, ['address', 'uint256', 'uint256'])).toEqual([a.CreditVault, p.unitSeconds, p.settlementGrace])
    const grant = await deployStepTx(3, a, deployer, p)
    expect(grant.to).toBe(a.FTNSToken)
    const decoded = attachFTNSToken(a.FTNSToken).interface.decodeFunctionData('grantRole', String(grant.data))
    expect([...decoded]).toEqual([id('MINTER_ROLE'), deployer])
    await expect(deployStepTx(4, a, deployer, p)).rejects.toThrow(RangeError)
  })

  it('public networks wait a day before a withdrawal completes; the local chain a minute', () => {
    expect(PUBLIC_DEPLOY_PARAMS.withdrawalDelay).toBe(86400n)
    expect(LOCAL_DEPLOY_PARAMS.withdrawalDelay).toBe(60n)
    expect({ ...PUBLIC_DEPLOY_PARAMS, withdrawalDelay: 0n }).toEqual({ ...LOCAL_DEPLOY_PARAMS, withdrawalDelay: 0n })
  })
})
