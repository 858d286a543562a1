/**
 * `/v1/market`: the FTNS market's books, this node's orders and fills. Thin: the schemas and the logic are the
 * ledger's market service; every refusal is a MarketError whose code names its reason (ERR_UNFUNDED, ERR_OVERFILL,
 * ERR_CANCELLED, ...) and reaches the one error renderer (409 conflicts, 400 invalid, 404 not found).
 */
import { Type } from '@sinclair/typebox'
import {
  BookView, BooksView, CancelResult, FillRequest, FillView, FillsView, OrdersView, PostOrderRequest, PostOrderResult, type MarketApi
} from '../../../ledger/lazy.js'
import type { ApiPlugin } from '../server.js'
import { ErrorBody, errorResponses } from '../schemas.js'

/** What the market routes use of the market service. */
export interface MarketRouteDeps { market: MarketApi }

const responses = {
  ...errorResponses,
  409: { ...ErrorBody, description: 'refused with a reason in error.code (ERR_UNFUNDED, ERR_OVERFILL, ERR_CANCELLED, ERR_EXPIRED, ...), the book is full (ERR_BOOK_FULL), or the market is not running yet (ERR_NOT_READY)' }
}
const MarketParam = Type.Object({ market: Type.String({ pattern: '^(compute|ftns-[a-z0-9]{1,16})$' }) })
const HashParam = Type.Object({ hash: Type.String({ pattern: '^0x[0-9a-fA-F]{64}$' }) })
const LaneParam = Type.Object({ lane: Type.Integer({ minimum: 0, maximum: 2 ** 32 }) })
const BookQuery = Type.Object({ resourceClass: Type.Optional(Type.String({ pattern: '^0x[0-9a-fA-F]{64}$' })) })
const OwnerQuery = Type.Object({ owner: Type.Optional(Type.String({ pattern: '^(me|0x[0-9a-fA-F]{40})$' })) })

/** The market route group. */
export function marketRoutes (deps: MarketRouteDeps): ApiPlugin {
  return (app) => {
    app.get('/v1/market/books', {
      schema: { tags: ['market'], summary: 'Every market this node serves, with its order count, best bid and ask', response: { 200: BooksView, ...responses } }
    }, async () => deps.market.books())

    app.get<{ Params: { market: string }, Querystring: { resourceClass?: string } }>('/v1/market/books/:market', {
      schema: { tags: ['market'], summary: 'One market\'s book: bids and asks in price-time priority, best prices, spread and depth', params: MarketParam, querystring: BookQuery, response: { 200: BookView, ...responses } }
    }, async (req) => deps.market.book(req.params.market, req.query.resourceClass))

    app.post<{ Body: PostOrderRequest }>('/v1/market/orders', {
      schema: { tags: ['market'], summary: 'Sign an order with this node\'s wallet, admit it to the book and gossip it', body: PostOrderRequest, response: { 200: PostOrderResult, ...responses } }
    }, async (req) => await deps.market.postOrder(req.body))

    app.get<{ Querystring: { owner?: string } }>('/v1/market/orders', {
      schema: { tags: ['market'], summary: 'Orders in the books by an owner (default `me`: this node\'s wallet)', querystring: OwnerQuery, response: { 200: OrdersView, ...responses } }
    }, async (req) => deps.market.orders(req.query.owner))

    app.delete<{ Params: { hash: string } }>('/v1/market/orders/:hash', {
      schema: { tags: ['market'], summary: 'Cancel one of this node\'s orders on chain', params: HashParam, response: { 200: CancelResult, ...responses } }
    }, async (req) => await deps.market.cancel(req.params.hash))

    app.post<{ Params: { lane: number } }>('/v1/market/lanes/:lane/cancel', {
      schema: { tags: ['market'], summary: 'Cancel every order of this node\'s wallet on a nonce lane (bumps the lane nonce on chain)', params: LaneParam, response: { 200: CancelResult, ...responses } }
    }, async (req) => await deps.market.cancelLane(req.params.lane))

    app.post<{ Body: FillRequest }>('/v1/market/fills', {
      schema: { tags: ['market'], summary: 'Fill an order (orderHash), or the best orders of a book (market, side, limitPrice), in one transaction', body: FillRequest, response: { 200: FillView, ...responses } }
    }, async (req) => await deps.market.fill(req.body))

    app.get('/v1/market/fills', {
      schema: { tags: ['market'], summary: 'Fills this node made (taker) and fills of its own orders (maker), newest first', response: { 200: FillsView, ...responses } }
    }, async () => deps.market.fills())
  }
}
