/**
 * The ledger's chain stack as the node runs it: the ledger service, the rewards voucher book and the FTNS market,
 * built and started together. This module pulls in ethers, the contract bindings and the market: the node loads it
 * only once it listens (`deferred.ts`), so none of it is on a starting node's path to "listening".
 */
import { ledger, type Ledger, type LedgerComponents, type LedgerInit } from './service.js'
import { LedgerRewards, type RewardsPolicy } from './rewards.js'
import { market, type Market, type MarketComponents, type MarketInit } from './market/index.js'
import type { ChainKv } from './chain/kv.js'
import type { Logger } from '../common/logger.js'

/** What the stack is built from: the ledger's and the market's options (and the rewards policy). */
export interface LedgerStackInit {
  ledger: LedgerInit
  market: MarketInit
  rewards?: Partial<RewardsPolicy>
}

/** What the stack uses of the node; the market's ledger and voucher book are the stack's own. */
export interface LedgerStackComponents {
  ledger: LedgerComponents
  market: Omit<MarketComponents, 'ledger' | 'vouchers'>
  /** Where the rewards voucher book keeps its vouchers and reserves. */
  rewards: { store: ChainKv, logger: Logger }
}

/** The started stack. */
export interface LedgerStack {
  ledger: Ledger
  market: Market
  /** One voucher book for training rewards and the market's metered compute jobs. */
  rewards: LedgerRewards
}

/**
 * Build and start the stack: the ledger first (its chain bring-up runs in the background and retries), then the
 * market, which waits for the ledger. A market that fails to start stops the ledger again.
 */
export async function startLedgerStack (init: LedgerStackInit, c: LedgerStackComponents): Promise<LedgerStack> {
  const l = ledger(init.ledger)(c.ledger)
  const rewards = new LedgerRewards({ ledger: () => l, store: c.rewards.store, logger: c.rewards.logger }, init.rewards)
  const m = market(init.market)({ ...c.market, ledger: l, vouchers: rewards })
  await l.start()
  try {
    await m.start()
  } catch (err) {
    await l.stop()
    throw err
  }
  return { ledger: l, market: m, rewards }
}

/** Stop a started stack in reverse order: the market, then the ledger. */
export async function stopLedgerStack (s: LedgerStack): Promise<void> {
  await s.market.stop()
  await s.ledger.stop()
}
