/**
 * The ledger service's options: schema and defaults. `src/node/options.ts` composes them under `ledger` (the chain's
 * id, RPC URLs and contract addresses stay under `chain`, filled by configs/networks/<network>.yaml and env).
 */
import { Type, type Static } from '@sinclair/typebox'
import { FTNS_AMOUNT_PATTERN } from './amounts.js'

/** The `ledger` section of the node's options. */
export const LedgerOptionsSchema = Type.Object({
  /** Run the ledger (wallet, chain, and on `local` the embedded anvil). Test meshes switch it off unless they need it. */
  enabled: Type.Boolean(),
  /** The embedded chain of network `local`: an anvil on 127.0.0.1 (reused when one already answers there). */
  anvil: Type.Object({
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    /** Milliseconds to wait for a started anvil to answer. */
    startTimeoutMs: Type.Integer({ minimum: 100 })
  }, { additionalProperties: false }),
  /** What the `local` faucet gives the node's wallet at start: it tops the wallet up to these amounts. */
  faucet: Type.Object({
    ftns: Type.String({ pattern: FTNS_AMOUNT_PATTERN }),
    eth: Type.String({ pattern: FTNS_AMOUNT_PATTERN })
  }, { additionalProperties: false }),
  /** How often a pending vault withdrawal is checked, and completed once its delay has passed. */
  withdrawalPollMs: Type.Integer({ minimum: 50 }),
  /** Per-call timeout of chain requests. */
  rpcTimeoutMs: Type.Integer({ minimum: 100 })
}, { additionalProperties: false })

/** The ledger service's options. */
export type LedgerOptions = Static<typeof LedgerOptionsSchema>

/** anvil's usual port: what `npm start` and a developer's wallet expect. */
export const DEFAULT_ANVIL_PORT = 8545

/** Defaults of the ledger options. */
export const defaultLedgerOptions: LedgerOptions = {
  enabled: true,
  anvil: { port: DEFAULT_ANVIL_PORT, startTimeoutMs: 20_000 },
  faucet: { ftns: '1000', eth: '10' },
  withdrawalPollMs: 5000,
  rpcTimeoutMs: 10_000
}
