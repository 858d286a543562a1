/**
 * The chain stack's stand-ins (ledger/deferred.ts): before the stack has loaded, the ledger, market and rewards
 * answer as a ledger that is still starting (enabled) or switched off (disabled), with the codes the API maps to 409;
 * a disabled stack never loads, and a stack stopped first never loads either. The load itself, with a real node and
 * anvil, is covered by the ledger's node tests (node-local-chain, node-wallet: 409 ERR_LEDGER_NOT_READY until ready).
 */
import { describe, it, expect } from 'vitest'
import { ledgerStack, type DeferredLedgerStack } from '../../../src/ledger/lazy.js'
import { defaultLedgerOptions, defaultMarketOptions } from '../../../src/ledger/lazy.js'
import { silentLogger } from '../../../src/common/logger.js'
import { MeshError } from '../../../src/common/errors.js'

type Components = Parameters<ReturnType<typeof ledgerStack>>[0]

/** A stack that is never loaded here: its components are only read by a load, so the logger is all it needs. */
function stack (enabled: boolean): DeferredLedgerStack {
  return ledgerStack({
    ledger: { ...defaultLedgerOptions, enabled, dataDir: '/nonexistent', network: 'local', chainId: 31337, rpcUrls: [], contracts: {} },
    market: { ...defaultMarketOptions(), enabled, network: 'local' }
  })({ logger: silentLogger } as unknown as Components)
}

/** The MeshError a call threw or rejected with. */
async function refusal (fn: () => unknown): Promise<MeshError> {
  try {
    await fn()
  } catch (err) {
    if (err instanceof MeshError) return err
    throw err
  }
  throw new Error('expected a refusal')
}

describe('the deferred chain stack', () => {
  it('answers "starting" (409-class, unavailable) until it has loaded', async () => {
    const s = stack(true)
    expect(s.ledger.state).toBe('starting')
    expect(s.ledger.chain()).toBeUndefined()
    expect(s.market.current()).toBeUndefined()
    for (const call of [() => s.ledger.wallet(), () => s.ledger.info(), () => s.ledger.settlements(), () => s.ledger.deposit('1'), () => s.ledger.send('0x0', '1'), () => s.rewards.address()]) {
      const e = await refusal(call)
      expect(e).toMatchObject({ code: 'ERR_LEDGER_NOT_READY', kind: 'unavailable' })
    }
    for (const call of [() => s.market.books(), () => s.market.fills(), () => s.market.orders(), () => s.market.book('compute'), () => s.market.fill({ orderHash: '0x', units: '1' })]) {
      const e = await refusal(call)
      expect(e.kind).toBe('unavailable')
      expect(e.message).toMatch(/still starting/)
    }
    // amounts parse without the chain: the same rule as the ledger's voucher book
    expect(s.rewards.parseAmount('1.5', 'amount')).toBe(1_500_000_000_000_000_000n)
    expect(await refusal(() => s.rewards.parseAmount('-1', 'amount'))).toMatchObject({ code: 'ERR_AMOUNT', kind: 'invalid' })
  })

  it('answers "off" when the ledger is disabled, and never loads', async () => {
    const s = stack(false)
    expect(s.ledger.state).toBe('disabled')
    expect(await s.load()).toBeUndefined()
    expect(await s.ledger.whenStarted()).toBe('disabled')
    expect(await refusal(() => s.ledger.wallet())).toMatchObject({ code: 'ERR_LEDGER_DISABLED', kind: 'unavailable' })
    expect(await refusal(() => s.rewards.reserve('job', 1n))).toMatchObject({ code: 'ERR_LEDGER_DISABLED' })
    expect(await refusal(() => s.rewards.address())).toMatchObject({ code: 'ERR_LEDGER_DISABLED' })
    expect((await refusal(() => s.market.books())).message).toMatch(/switched off/)
    await s.stop()
  })

  it('loads nothing once stopped', async () => {
    const s = stack(true)
    await s.stop()
    expect(await s.load()).toBeUndefined()
    expect(s.current()).toBeUndefined()
    expect(s.ledger.state).toBe('starting')
  })
})
