/**
 * How the wallet's transactions reach the chain. The node sends them as settlement intents of the chain client
 * (persisted with their nonce before sending, bump-and-replace, confirmation per network, exactly once per id, listed
 * by `GET /v1/ledger/settlements`). `directSender` sends them straight from the wallet: for tools and tests that run
 * the ledger without a state store.
 */
import { randomUUID } from 'node:crypto'
import type { Wallet } from 'ethers'
import type { ChainClient, IntentRecord } from './chain/index.js'
import { errorOf, type TypedContract } from './contracts/index.js'
import { LedgerError } from './errors.js'
import type { LedgerMetrics } from './metrics.js'
import type { SettlementView } from './views.js'

/** Sends one contract call from the wallet and resolves with its hash once it counts as confirmed. */
export interface TxSender {
  send: (op: string, to: string, data: string) => Promise<string>
  /** The transactions sent, newest first. */
  settlements: () => Promise<SettlementView[]>
}

const iso = (ms: number): string => new Date(ms).toISOString()

/** An intent as the settlements list shows it. */
export function settlementOf (r: IntentRecord): SettlementView {
  const tx = r.receipt?.hash ?? r.txs[r.txs.length - 1]?.hash ?? null
  return {
    id: r.id,
    kind: r.kind,
    state: r.state,
    tx,
    blockNumber: r.receipt?.blockNumber ?? null,
    ...(r.error !== undefined ? { error: r.error } : {}),
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt)
  }
}

/** Wallet transactions as chain-client intents (`nonce` proofs: each id is one operation the user asked for). */
export function intentSender (client: Pick<ChainClient, 'settle' | 'list'>, metrics?: LedgerMetrics): TxSender {
  return {
    send: async (op, to, data) => {
      try {
        const r = await client.settle({ id: `${op}:${randomUUID()}`, kind: op, to, data, proof: { type: 'nonce' } })
        metrics?.transactions.inc({ op, result: 'ok' })
        return r.receipt?.hash ?? r.txs[r.txs.length - 1]?.hash ?? ''
      } catch (err) {
        metrics?.transactions.inc({ op, result: 'failed' })
        throw err
      }
    },
    settlements: async () => (await client.list()).map(settlementOf).reverse()
  }
}

/** Wallet transactions sent straight from the wallet, one at a time, journaled in memory. */
export function directSender (wallet: Wallet, contracts: ReadonlyArray<TypedContract<unknown>>, metrics?: LedgerMetrics): TxSender {
  const journal: SettlementView[] = []
  return {
    send: async (op, to, data) => {
      const now = new Date().toISOString()
      const entry: SettlementView = { id: `${op}:${randomUUID()}`, kind: op, state: 'prepared', tx: null, blockNumber: null, createdAt: now, updatedAt: now }
      journal.push(entry)
      try {
        const tx = await wallet.sendTransaction({ to, data })
        Object.assign(entry, { state: 'sent', tx: tx.hash, updatedAt: new Date().toISOString() })
        const receipt = await tx.wait()
        if (receipt?.status !== 1) throw new LedgerError('ERR_TX_FAILED', `${op} transaction ${tx.hash} reverted`)
        Object.assign(entry, { state: 'done', blockNumber: receipt.blockNumber, updatedAt: new Date().toISOString() })
        metrics?.transactions.inc({ op, result: 'ok' })
        return tx.hash
      } catch (err) {
        metrics?.transactions.inc({ op, result: 'failed' })
        const reason = contracts.map(c => errorOf(c, err)?.name).find(n => n !== undefined)
        const message = err instanceof LedgerError ? err.message : `${op} failed${reason !== undefined ? `: ${reason}` : ''}: ${(err as Error).message.split('\n')[0].slice(0, 200)}`
        Object.assign(entry, { state: 'failed', error: message, updatedAt: new Date().toISOString() })
        if (err instanceof LedgerError) throw err
        throw new LedgerError('ERR_TX_FAILED', message, { cause: err })
      }
    },
    settlements: async () => [...journal].reverse()
  }
}
