import { describe, expect, it } from 'vitest'
import { bumpFees, feePolicyFor, initialFees, networkProfile } from '../../../../src/ledger/chain/index.js'

const GWEI = 10n ** 9n

describe('fee policy per chain', () => {
  it.each([
    [137n, 'floor', 25n * GWEI, 30n * GWEI],
    [80002n, 'floor', 25n * GWEI, 30n * GWEI],
    [31337n, 'node', 0n, GWEI],
    [1n, 'node', 0n, GWEI]
  ])('chain %s: %s mode, floor %s, default bid %s', (chainId, mode, floor, bid) => {
    const p = feePolicyFor(chainId)
    expect(p.mode).toBe(mode)
    expect(p.priorityFloor).toBe(floor)
    expect(p.defaultPriority).toBe(bid)
    expect(p.bumpPerMille).toBe(125n)
  })

  it('profiles carry their chain ids and policies', () => {
    expect(networkProfile('polygon').chainId).toBe(137n)
    expect(networkProfile('amoy').fees.priorityFloor).toBe(25n * GWEI)
    expect(networkProfile('local', { fees: { bumpPerMille: 200n } }).fees.bumpPerMille).toBe(200n)
  })
})

describe('initialFees', () => {
  const polygon = feePolicyFor(137n)
  const local = feePolicyFor(31337n)
  it.each([
    // policy, baseFee, node's priority suggestion, expected priority, expected maxFee
    ['polygon: node suggests under the floor', polygon, 100n * GWEI, 1n * GWEI, 30n * GWEI, 230n * GWEI],
    ['polygon: no suggestion', polygon, 50n * GWEI, undefined, 30n * GWEI, 130n * GWEI],
    ['polygon: node suggests above the default bid', polygon, 10n * GWEI, 45n * GWEI, 45n * GWEI, 65n * GWEI],
    ['local: anvil suggestion', local, 875_000_000n, 1n * GWEI, 1n * GWEI, 2_750_000_000n],
    ['local: zero base fee, zero suggestion', local, 0n, 0n, 0n, 0n]
  ])('%s', (_name, policy, baseFee, priority, expPriority, expMax) => {
    const f = initialFees(policy, priority === undefined ? { baseFee } : { baseFee, priority })
    expect(f.maxPriorityFeePerGas).toBe(expPriority)
    expect(f.maxFeePerGas).toBe(expMax)
  })

  it('never bids under the 25 gwei floor on Polygon or Amoy, whatever the node says', () => {
    for (const chainId of [137n, 80002n]) {
      const p = { ...feePolicyFor(chainId), defaultPriority: 1n } // even a misconfigured default
      for (const s of [0n, 1n, 24n * GWEI, 25n * GWEI - 1n]) {
        expect(initialFees(p, { baseFee: 0n, priority: s }).maxPriorityFeePerGas).toBeGreaterThanOrEqual(25n * GWEI)
      }
    }
  })
})

describe('bumpFees', () => {
  const polygon = feePolicyFor(137n)
  const local = feePolicyFor(31337n)
  it.each([
    ['+12.5% on both', polygon, { maxFeePerGas: 200n * GWEI, maxPriorityFeePerGas: 40n * GWEI }, { baseFee: 10n * GWEI }, 45n * GWEI, 225n * GWEI],
    ['rounds up', polygon, { maxFeePerGas: 1001n, maxPriorityFeePerGas: 30n * GWEI }, { baseFee: 0n }, 33_750_000_000n, 33_750_000_000n],
    ['fresh bid wins when the base fee rose', polygon, { maxFeePerGas: 100n * GWEI, maxPriorityFeePerGas: 30n * GWEI }, { baseFee: 200n * GWEI }, 33_750_000_000n, 430n * GWEI],
    ['a zero fee still rises', local, { maxFeePerGas: 0n, maxPriorityFeePerGas: 0n }, { baseFee: 0n, priority: 0n }, 1n, 1n],
    ['tiny fees rise by at least 1 wei', local, { maxFeePerGas: 3n, maxPriorityFeePerGas: 2n }, { baseFee: 0n, priority: 0n }, 3n, 4n]
  ])('%s', (_name, policy, prev, s, expPriority, expMax) => {
    const f = bumpFees(prev, policy, s)
    expect(f.maxPriorityFeePerGas).toBe(expPriority)
    expect(f.maxFeePerGas).toBe(expMax)
  })

  it('each replacement is at least 12.5% over the last, on both fees, and maxFee >= priority', () => {
    let f = initialFees(polygon, { baseFee: 30n * GWEI, priority: 2n * GWEI })
    for (let i = 0; i < 20; i++) {
      const next = bumpFees(f, polygon, { baseFee: 30n * GWEI })
      expect(next.maxPriorityFeePerGas * 1000n).toBeGreaterThanOrEqual(f.maxPriorityFeePerGas * 1125n)
      expect(next.maxFeePerGas * 1000n).toBeGreaterThanOrEqual(f.maxFeePerGas * 1125n)
      expect(next.maxFeePerGas).toBeGreaterThanOrEqual(next.maxPriorityFeePerGas)
      f = next
    }
  })
})
