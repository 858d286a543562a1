/**
 * Property test of the ComputeMarket: fast-check generates makers signing compute and trade orders (some with a stale
 * lane nonce or an invalid side), takers filling them alone or several at once (some too large, too small, expired,
 * self-filled), cancellations of orders and lanes, and clock jumps; each sequence runs as real transactions on anvil
 * between an evm_snapshot and an evm_revert, the model's prediction checked after every transaction.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { MaxUint256, parseEther, parseUnits } from 'ethers'
import type { Wallet } from 'ethers'
import { deployLedgerLens, type LedgerLensContract } from './bindings/ledger-lens.js'
import { startAnvil, type Anvil } from './harness/anvil.js'
import { deployAll, fundInVault, PARAMS, type Deployment } from './harness/deploy.js'
import { MarketModel, marketOp, type MarketLog, type MarketOp } from './harness/market-model.js'
import { atLeast, propertyRuns } from './harness/runs.js'
import { mined } from './harness/tx.js'

const PROPERTY_RUNS = propertyRuns()
const ACTORS = 3

describe('ComputeMarket invariants (fast-check against anvil)', () => {
  let anvil: Anvil
  let d: Deployment
  let actors: Wallet[]
  let lens: LedgerLensContract

  beforeAll(async () => {
    anvil = await startAnvil({ accounts: 1 + ACTORS })
    d = await deployAll(anvil)
    actors = anvil.wallets.slice(1, 1 + ACTORS)
    lens = await deployLedgerLens(d.admin)
    await anvil.rpc('anvil_setBlockTimestampInterval', [1])
    for (const a of actors) {
      await fundInVault(d, a, parseEther('0.5'))
      await mined(d.token.mint(a.address, parseEther('3')))
      await mined(d.token.connect(a).approve(d.addresses.market, MaxUint256))
      await mined(d.quote.mint(a.address, parseUnits('5', 6)))
      await mined(d.quote.connect(a).approve(d.addresses.market, MaxUint256))
    }
  })
  afterAll(async () => { await anvil?.stop() })

  async function run (ops: MarketOp[]): Promise<MarketLog> {
    const snap = await anvil.snapshot()
    try {
      const s = await lens.readMarket(d.addresses.market, d.addresses.quote, actors.map(a => a.address), [], [])
      const model = new MarketModel(d, lens, actors, PARAMS.settlementGrace, {
        t: (await anvil.now()) + 1n, ftns: [...s.ftns], quote: [...s.quote], free: [...s.free], vaultBalance: s.vaultBalance
      })
      for (const op of ops) await model.apply(op)
      await model.check()
      await model.verifyClock()
      return model.log
    } finally {
      await anvil.revert(snap)
    }
  }

  it('never fills an order past its size or after its cancellation, moves exactly units x price, and conserves both tokens', async () => {
    const tally = { ok: 0, refused: 0, many: 0, locks: 0 }
    await fc.assert(
      fc.asyncProperty(fc.array(marketOp(ACTORS), { minLength: 4, maxLength: 16, size: 'max' }), async ops => {
        const log = await run(ops)
        expect(log.deadFills).toBe(0)
        expect(log.badLocks).toBe(0)
        for (const snapshot of log.orders) for (const o of snapshot) expect(o.filled <= o.size).toBe(true)
        for (const t of log.totals) {
          expect(t.ftns).toBe(t.ftns0)
          expect(t.quote).toBe(t.quote0)
        }
        tally.ok += log.fills.ok
        tally.refused += log.fills.refused
        tally.many += log.fills.many
        tally.locks += log.locks
      }),
      { numRuns: PROPERTY_RUNS }
    )
    if (process.env.MESHNODE_PROPERTY_STATS === '1') process.stderr.write(`market: ${JSON.stringify(tally)}\n`)
    // not vacuous: fills of both outcomes happened, several at once too, and opened locks
    expect(tally.ok).toBeGreaterThan(atLeast(100))
    expect(tally.refused).toBeGreaterThan(atLeast(100))
    expect(tally.many).toBeGreaterThan(atLeast(20))
    expect(tally.locks).toBeGreaterThan(atLeast(50))
  })
})
