/**
 * The market's wire names and market naming. Topics and protocol ids are part of the wire format: changing a string
 * splits the mesh.
 */
import { protocolId, topicName } from '../../../protocols/topics.js'

/** The market of compute time. */
export const COMPUTE_MARKET = 'compute'

/** A market's name: `compute`, or `ftns-<quote symbol>` for FTNS traded against a quote token. */
export type MarketName = typeof COMPUTE_MARKET | `ftns-${string}`

/** What a node needs to know of a market to validate its orders. */
export type MarketSpec =
  | { name: typeof COMPUTE_MARKET, kind: 'compute' }
  | {
    name: `ftns-${string}`
    kind: 'trade'
    /** The quote ERC-20's address. */
    quote: string
    /** FTNS wei per lot: every order of a market uses one lot size, so prices are comparable. */
    unitSize: bigint
  }

/** The market name of FTNS against the quote token `symbol` (`USDC` -> `ftns-usdc`). */
export function tradeMarketName (symbol: string): `ftns-${string}` {
  const s = symbol.toLowerCase()
  if (!/^[a-z0-9]{1,16}$/.test(s)) throw new RangeError(`quote symbol ${JSON.stringify(symbol)} must be 1-16 letters or digits`)
  return `ftns-${s}`
}

/** Whether `name` is a well-formed market name. */
export function isMarketName (name: string): name is MarketName {
  return name === COMPUTE_MARKET || /^ftns-[a-z0-9]{1,16}$/.test(name)
}

/** The gossip topic of a market's orders: `meshnode/market/<market>/1`. */
export function marketTopic<M extends MarketName> (market: M): `meshnode/market/${M}/1` {
  return topicName(`market/${market}`, 1)
}

/** The stream protocol a newcomer fetches a market's book snapshot with. */
export const MARKET_SYNC_PROTOCOL = protocolId('market-sync', '1.0.0')

/** What names a node's markets: its quote tokens and, on `local`, the test quote token. */
export interface MarketNaming {
  network: string
  quotes: ReadonlyArray<{ symbol: string }>
  localQuote: { symbol: string }
}

/** The markets a node serves: `compute`, `ftns-<symbol>` per quote token, plus the test token's on `local`. */
export function marketNamesOf (o: MarketNaming): MarketName[] {
  const names: MarketName[] = [COMPUTE_MARKET, ...o.quotes.map(q => tradeMarketName(q.symbol))]
  if (o.network === 'local') names.push(tradeMarketName(o.localQuote.symbol))
  return [...new Set(names)]
}

/** The gossip topics of a node's markets (the node gives each gossipsub topic score parameters). */
export function marketTopicsOf (o: MarketNaming): string[] {
  return marketNamesOf(o).map(name => marketTopic(name))
}
