/**
 * The market service's options (`market` in the node's options): switch, re-validation and sync timing, the funding
 * cache's freshness, how long and how many asks wait for their maker's hardware record, the book size cap, the trade
 * markets (FTNS against quote tokens), and on `local` the test quote token the node deploys beside FTNS and tops its
 * wallet up with.
 */
import { Type, type Static } from '@sinclair/typebox'

const Uint = Type.String({ pattern: '^[1-9][0-9]{0,77}$' })

/** A trade market: FTNS against the ERC-20 at `address`, in lots of `unitSize` FTNS wei. */
export const QuoteMarketSchema = Type.Object({
  symbol: Type.String({ pattern: '^[A-Za-z0-9]{1,16}$' }),
  address: Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' }),
  decimals: Type.Integer({ minimum: 0, maximum: 36 }),
  unitSize: Uint
}, { additionalProperties: false })
export type QuoteMarket = Static<typeof QuoteMarketSchema>

/** The `market` section of the node's options. */
export const MarketOptionsSchema = Type.Object({
  /** Run the market (needs the ledger). */
  enabled: Type.Boolean(),
  /** How often every book is re-checked: expiry, fills, cancels, funding. */
  revalidateMs: Type.Integer({ minimum: 100 }),
  /** Timeout of one book snapshot request (`/meshnode/market-sync/1.0.0`). */
  syncTimeoutMs: Type.Integer({ minimum: 100 }),
  /** How long a funding read (balances, allowances, order status) is trusted. */
  fundingTtlMs: Type.Integer({ minimum: 0 }),
  /** How long a compute ask waits for its maker node's signed hardware record before it is refused `hardware-unknown`. */
  hardwareWaitMs: Type.Integer({ minimum: 0 }),
  /** Asks held waiting for hardware records: per maker node, and in all (more are refused `hardware-unknown` at once). */
  maxPendingPerPeer: Type.Integer({ minimum: 0 }),
  maxPending: Type.Integer({ minimum: 0 }),
  /** The most orders one book holds. */
  maxOrdersPerBook: Type.Integer({ minimum: 1 }),
  /** One metered unit of a compute job (a voucher per unit; a minute by default: the contract's unit). */
  computeUnitMs: Type.Integer({ minimum: 100 }),
  /** Trade markets beyond `local`'s test token. */
  quotes: Type.Array(QuoteMarketSchema, { maxItems: 16 }),
  /** `local` only: the test quote token deployed beside FTNS, its lot size, and what the faucet tops the wallet up to. */
  localQuote: Type.Object({
    symbol: Type.String({ pattern: '^[A-Za-z0-9]{1,16}$' }),
    unitSize: Uint,
    faucet: Uint
  }, { additionalProperties: false })
}, { additionalProperties: false })
export type MarketOptions = Static<typeof MarketOptionsSchema>

/** Defaults of the market options. */
export function defaultMarketOptions (): MarketOptions {
  return {
    enabled: true,
    revalidateMs: 5000,
    syncTimeoutMs: 5000,
    fundingTtlMs: 2000,
    hardwareWaitMs: 30_000,
    maxPendingPerPeer: 32,
    maxPending: 1024,
    maxOrdersPerBook: 100_000,
    computeUnitMs: 60_000,
    quotes: [],
    // 1 FTNS lots; 1,000 TUSD (6 decimals)
    localQuote: { symbol: 'TUSD', unitSize: (10n ** 18n).toString(), faucet: (1000n * 10n ** 6n).toString() }
  }
}
