/**
 * `meshnode market book | buy | sell | cancel | orders | fills`: the FTNS market through the local daemon's admin API.
 * Prices are typed as decimals of the market's price unit (FTNS per minute for `compute`, the quote token for
 * `ftns-<quote>`) and sent as the integers the signed orders carry. `buy`/`sell` post a limit order (a bid/an ask);
 * with `--take` they fill the best orders of the book instead, up to `--price`. A client command: it loads the API
 * client and its formatting, nothing else.
 */
import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { MeshError } from '../../../common/errors.js'
import { output, table } from '../format.js'
// types only: a client command loads neither the ledger nor TypeBox
import type { BookView, BooksView, CancelResult, FillView, FillsView, OrderView, OrdersView, PostOrderResult } from '../../../ledger/market/service/views.js'
import type { Connect } from './info.js'

interface CommonOpts { dataDir?: string, json?: boolean }
interface OrderOpts extends CommonOpts { price?: string, take?: boolean, minFill?: string, ttl?: string, lane?: string, resourceClass?: string, order?: string, job?: string, datasetCid?: string }

const short = (s: string): string => s.length > 18 ? `${s.slice(0, 10)}…${s.slice(-6)}` : s

function common (cmd: Command): Command {
  return cmd.option('--data-dir <dir>', 'data directory').option('--json', 'machine-readable output')
}

/** `12.5` with 6 decimals -> `12500000`; refuses what is not a plain non-negative decimal with at most `decimals` places. */
export function toUnits (value: string, decimals: number): string {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(value.trim())
  if (m === null || (m[2] ?? '').length > decimals) throw new MeshError('ERR_ARGUMENT', `"${value}" is not a decimal with at most ${decimals} places`, { kind: 'invalid' })
  return (BigInt(m[1]) * 10n ** BigInt(decimals) + BigInt((m[2] ?? '').padEnd(decimals, '0') || '0')).toString()
}

/**
 * The compute job a `buy --take` sends with its fill: the JSON object of `--job <file>` (a training job request:
 * `model`, `dataset`, `rounds`, ...), with `--dataset-cid` naming the buyer's own dataset (an artifact, CSV or JSON
 * lines) that the provider fetches and imports instead of a built-in `dataset`.
 */
export function jobRequestOf (text: string | undefined, datasetCid: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) {
    if (datasetCid !== undefined) throw new MeshError('ERR_ARGUMENT', '--dataset-cid goes with --job <file.json> (the model and training settings)', { kind: 'invalid' })
    return undefined
  }
  let job: unknown
  try { job = JSON.parse(text) } catch (err) { throw new MeshError('ERR_ARGUMENT', `the job file is not JSON: ${(err as Error).message}`, { kind: 'invalid' }) }
  if (typeof job !== 'object' || job === null || Array.isArray(job)) throw new MeshError('ERR_ARGUMENT', 'the job file must hold one JSON object (a training job request)', { kind: 'invalid' })
  const out = { ...job } as Record<string, unknown>
  if (datasetCid !== undefined) {
    if (!/^[a-zA-Z0-9]{16,128}$/.test(datasetCid)) throw new MeshError('ERR_ARGUMENT', `--dataset-cid "${datasetCid}" is not a CID`, { kind: 'invalid' })
    out.datasetCid = datasetCid
  } else if (typeof out.dataset !== 'string' && typeof out.datasetCid !== 'string') {
    throw new MeshError('ERR_ARGUMENT', 'the job names no dataset: give "dataset" (a built-in one) in the file, or --dataset-cid', { kind: 'invalid' })
  }
  return out
}

/** `12500000` with 6 decimals -> `12.5`. */
export function fromUnits (value: string | null, decimals: number): string {
  if (value === null) return '-'
  const v = BigInt(value)
  const neg = v < 0n
  const a = neg ? -v : v
  const frac = (a % 10n ** BigInt(decimals)).toString().padStart(decimals, '0').replace(/0+$/, '')
  return `${neg ? '-' : ''}${a / 10n ** BigInt(decimals)}${frac !== '' ? `.${frac}` : ''}`
}

/** A readable depth table: asks from the dearest down to the best, a spread line, then bids from the best down. */
export function depthTable (b: BookView, decimals: number): string {
  const rows: Array<Array<string | number>> = []
  for (const l of [...b.depth.asks].reverse()) rows.push(['ask', fromUnits(l.price, decimals), l.units, l.orders, l.cumulative])
  rows.push(['---', `spread ${fromUnits(b.spread, decimals)}`, '', '', ''])
  for (const l of b.depth.bids) rows.push(['bid', fromUnits(l.price, decimals), l.units, l.orders, l.cumulative])
  return `${b.market}${b.resourceClass !== null ? ` (${short(b.resourceClass)})` : ''}: best bid ${fromUnits(b.bestBid, decimals)}, best ask ${fromUnits(b.bestAsk, decimals)}\n` +
    table(['SIDE', 'PRICE', 'UNITS', 'ORDERS', 'CUMULATIVE'], rows)
}

function ordersTable (orders: OrderView[], decimals: (market: string) => number): string {
  if (orders.length === 0) return 'no orders'
  return table(['HASH', 'MARKET', 'SIDE', 'PRICE', 'UNITS', 'EXPIRY', 'SPEED', 'REPUTATION'], orders.map(o => [
    short(o.hash), o.market, o.side, fromUnits(o.price, decimals(o.market)), `${o.units}/${o.size}`, new Date(o.expiry * 1000).toISOString().slice(0, 19).replace('T', ' '),
    o.provider?.samplesPerSec != null ? `${Math.round(o.provider.samplesPerSec)}/s` : '', o.provider?.reputation ?? ''
  ]))
}

function fillsTable (fills: FillView[]): string {
  if (fills.length === 0) return 'no fills'
  return table(['ID', 'ROLE', 'MARKET', 'STATE', 'UNITS', 'COST', 'ORDERS', 'TX', 'REASON'],
    fills.map(f => [short(f.id), f.role, f.market, f.state, f.units, f.cost, f.orders.length, f.tx !== null ? short(f.tx) : '', f.reason ?? '']))
}

/** Register the `market` command group. */
export function registerMarketCommands (program: Command, connect: Connect): void {
  const group = program.command('market').description('the FTNS market: order books, limit orders, fills, cancels')
  const decimalsOf = async (api: Awaited<ReturnType<Connect>>): Promise<(market: string) => number> => {
    const books = await api.request<BooksView>('GET', '/v1/market/books')
    return (market) => books.markets.find(m => m.market === market)?.priceDecimals ?? 18
  }

  common(group.command('book [market]').description('every market\'s best prices, or one market\'s depth table (e.g. `book ftns-tusd`)'))
    .option('--resource-class <hash>', 'compute: one hardware class')
    .action(async (market: string | undefined, opts: OrderOpts) => {
      const api = await connect(opts)
      if (market === undefined) {
        const b = await api.request<BooksView>('GET', '/v1/market/books')
        output(opts.json === true, b, () => table(['MARKET', 'ORDERS', 'BEST BID', 'BEST ASK', 'SPREAD'],
          b.markets.map(m => [m.market, m.orders, fromUnits(m.bestBid, m.priceDecimals), fromUnits(m.bestAsk, m.priceDecimals), fromUnits(m.spread, m.priceDecimals)])))
        return
      }
      const dec = (await decimalsOf(api))(market)
      const b = await api.request<BookView>('GET', `/v1/market/books/${encodeURIComponent(market)}`, { query: opts.resourceClass !== undefined ? { resourceClass: opts.resourceClass } : undefined })
      output(opts.json === true, b, () => depthTable(b, dec))
    })

  for (const side of ['buy', 'sell'] as const) {
    const cmd = common(group.command(`${side} <market> <units>`).description(side === 'buy'
      ? 'post a bid for <units> at --price (per unit), or with --take fill the best asks up to --price'
      : 'post an ask of <units> at --price (per unit), or with --take fill the best bids down to --price'))
      .option('--price <decimal>', 'price per unit, in the market\'s price unit')
      .option('--take', 'fill orders in the book rather than post one')
      .option('--min-fill <units>', 'smallest fill of the posted order (default 1)')
      .option('--ttl <seconds>', 'seconds until the posted order expires (default 3600)')
      .option('--lane <n>', 'nonce lane of the posted order (default 0)')
      .option('--resource-class <hash>', 'compute: the hardware class (a bid needs it; an ask defaults to this node\'s)')
    if (side === 'buy') {
      cmd.option('--order <hash>', 'with --take: fill this one order (default: the best asks up to --price)')
        .option('--job <file.json>', 'compute, with --take: the job the provider runs for the units (a training job request: model, dataset, rounds, ...); paid by a voucher per unit')
        .option('--dataset-cid <cid>', 'with --job: train on your own dataset, an artifact (CSV or JSON lines) the provider fetches and imports')
    }
    cmd.action(async (market: string, units: string, opts: OrderOpts) => {
      const job = jobRequestOf(opts.job !== undefined ? await readFile(opts.job, 'utf8') : undefined, opts.datasetCid)
      if (job !== undefined && (opts.take !== true || market !== 'compute')) throw new MeshError('ERR_ARGUMENT', '--job goes with `buy compute <units> --take`', { kind: 'invalid' })
      const api = await connect(opts)
      const dec = (await decimalsOf(api))(market)
      const price = opts.price !== undefined ? toUnits(opts.price, dec) : undefined
      if (opts.take === true) {
        const what = opts.order !== undefined ? { orderHash: opts.order } : { market, side, ...(price !== undefined ? { limitPrice: price } : {}), ...(opts.resourceClass !== undefined ? { resourceClass: opts.resourceClass } : {}) }
        const r = await api.request<FillView>('POST', '/v1/market/fills', { json: { ...what, units, ...(job !== undefined ? { job } : {}) } })
        output(opts.json === true, r, () => `filled ${r.units} units from ${r.orders.length} order(s) for ${fromUnits(r.cost, dec)} (tx ${r.tx ?? '-'})` +
            (r.compute ?? []).map(j => `\njob on ${short(j.peer)}: ${j.state}${j.reason !== null ? ` (${j.reason})` : ''}, lock ${short(j.lockId)}`).join(''))
        return
      }
      if (price === undefined) throw new MeshError('ERR_ARGUMENT', 'a posted order needs --price (or use --take)', { kind: 'invalid' })
      const r = await api.request<PostOrderResult>('POST', '/v1/market/orders', {
        json: {
          market, side: side === 'buy' ? 'bid' : 'ask', price, units,
          ...(opts.minFill !== undefined ? { minFill: opts.minFill } : {}),
          ...(opts.ttl !== undefined ? { ttlSec: Number(opts.ttl) } : {}),
          ...(opts.lane !== undefined ? { nonceLane: Number(opts.lane) } : {}),
          ...(opts.resourceClass !== undefined ? { resourceClass: opts.resourceClass } : {})
        }
      })
      output(opts.json === true, r, () => `posted ${r.order.side} ${r.order.units} at ${fromUnits(r.order.price, dec)} on ${market}: ${r.hash}`)
    })
  }

  common(group.command('cancel [hash]').description('cancel one of this node\'s orders on chain, or with --lane every order on a nonce lane'))
    .option('--lane <n>', 'cancel a whole nonce lane')
    .action(async (hash: string | undefined, opts: OrderOpts) => {
      const api = await connect(opts)
      if (hash === undefined && opts.lane === undefined) throw new MeshError('ERR_ARGUMENT', 'give an order hash or --lane <n>', { kind: 'invalid' })
      const r = hash !== undefined
        ? await api.request<CancelResult>('DELETE', `/v1/market/orders/${encodeURIComponent(hash)}`)
        : await api.request<CancelResult>('POST', `/v1/market/lanes/${Number(opts.lane)}/cancel`)
      output(opts.json === true, r, () => `cancelled ${r.hash ?? `lane ${r.lane ?? '?'}`} (${r.removed} order(s) left the book; tx ${r.tx ?? '-'})`)
    })

  common(group.command('orders').description('orders in the books by this node (or --owner <address>)'))
    .option('--owner <address>', 'another maker\'s address')
    .action(async (opts: CommonOpts & { owner?: string }) => {
      const api = await connect(opts)
      const r = await api.request<OrdersView>('GET', '/v1/market/orders', { query: { owner: opts.owner ?? 'me' } })
      const dec = await decimalsOf(api)
      output(opts.json === true, r, () => ordersTable(r.orders, dec))
    })

  common(group.command('fills').description('fills this node made, and fills of its own orders'))
    .action(async (opts: CommonOpts) => {
      const r = await (await connect(opts)).request<FillsView>('GET', '/v1/market/fills')
      output(opts.json === true, r, () => fillsTable(r.fills))
    })
}
