/** `/v1/ledger`: the chain this node settles on (network, chain id, head, finality, contracts) and its settlements. */
import { LedgerInfoView, SettlementList, type LedgerApi } from '../../../ledger/lazy.js'
import type { ApiPlugin } from '../server.js'
import { ErrorBody, errorResponses } from '../schemas.js'

/** What the ledger routes use of the ledger. */
export interface LedgerRouteDeps { ledger: Pick<LedgerApi, 'info' | 'settlements'> }

const responses = { ...errorResponses, 409: { ...ErrorBody, description: 'the ledger is off, starting, or its chain unavailable' } }

/** The ledger route group. */
export function ledgerRoutes (deps: LedgerRouteDeps): ApiPlugin {
  return (app) => {
    app.get('/v1/ledger', {
      schema: { tags: ['ledger'], summary: 'The chain: network, chain id, latest and finalized block, contract addresses', response: { 200: LedgerInfoView, ...responses } }
    }, async () => await deps.ledger.info())

    app.get('/v1/ledger/settlements', {
      schema: { tags: ['ledger'], summary: 'Transactions this node made on the chain, newest first', response: { 200: SettlementList, ...responses } }
    }, async () => ({ settlements: await deps.ledger.settlements() }))
  }
}
