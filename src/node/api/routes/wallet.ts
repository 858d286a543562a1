/**
 * `/v1/wallet`: this node's chain wallet: balances, vault free/locked/pending, locks; deposit into the vault, withdraw
 * (starts the vault's delay; the node completes it by itself), send FTNS. Amounts are decimal FTNS strings. Thin:
 * the schemas are the ledger's, and errors (bad amounts 400, insufficient funds 409, chain unavailable 409) reach the
 * one error renderer as LedgerErrors.
 */
import { AmountRequest, SendRequest, WalletTxResult, WalletView, type LedgerApi } from '../../../ledger/lazy.js'
import type { ApiPlugin } from '../server.js'
import { ErrorBody, errorResponses } from '../schemas.js'

/** What the wallet routes use of the ledger. */
export interface WalletRouteDeps { ledger: Pick<LedgerApi, 'wallet' | 'deposit' | 'withdraw' | 'send'> }

const responses = { ...errorResponses, 409: { ...ErrorBody, description: 'insufficient funds (ERR_INSUFFICIENT_FUNDS), or the ledger is off, starting or its chain unavailable' } }

/** The wallet route group. */
export function walletRoutes (deps: WalletRouteDeps): ApiPlugin {
  return (app) => {
    app.get('/v1/wallet', {
      schema: { tags: ['wallet'], summary: 'This node\'s wallet: FTNS, gas balance, vault free/locked/pending, locks', response: { 200: WalletView, ...responses } }
    }, async () => await deps.ledger.wallet())

    app.post<{ Body: AmountRequest }>('/v1/wallet/deposit', {
      schema: { tags: ['wallet'], summary: 'Deposit FTNS from the wallet into the vault', body: AmountRequest, response: { 200: WalletTxResult, ...responses } }
    }, async (req) => await deps.ledger.deposit(req.body.amount))

    app.post<{ Body: AmountRequest }>('/v1/wallet/withdraw', {
      schema: { tags: ['wallet'], summary: 'Withdraw free FTNS from the vault: starts the vault\'s delay; the node completes it by itself', body: AmountRequest, response: { 200: WalletTxResult, ...responses } }
    }, async (req) => await deps.ledger.withdraw(req.body.amount))

    app.post<{ Body: SendRequest }>('/v1/wallet/send', {
      schema: { tags: ['wallet'], summary: 'Send FTNS from the wallet to an address', body: SendRequest, response: { 200: WalletTxResult, ...responses } }
    }, async (req) => await deps.ledger.send(req.body.to, req.body.amount))
  }
}
