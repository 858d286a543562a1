/**
 * The ledger's API views: one TypeBox schema per response and request body (the routes, the OpenAPI document and the
 * CLI all read these). Amounts are decimal FTNS strings, never JSON numbers.
 */
import { Type, type Static } from '@sinclair/typebox'

const Ftns = (description: string): ReturnType<typeof Type.String> => Type.String({ description: `${description} (FTNS, decimal string)` })
const Address = Type.String({ description: '0x-prefixed address' })

/** A vault lock this wallet pays or is paid by. */
export const LockView = Type.Object({
  lockId: Type.String(),
  role: Type.Union([Type.Literal('payer'), Type.Literal('provider')]),
  payer: Address,
  provider: Address,
  amount: Ftns('locked'),
  redeemed: Ftns('paid out by vouchers so far'),
  expiry: Type.String({ format: 'date-time' }),
  closed: Type.Boolean()
})

/** `GET /v1/wallet`. */
export const WalletView = Type.Object({
  address: Address,
  chainId: Type.Integer(),
  ftns: Ftns('in the wallet'),
  eth: Type.String({ description: 'native balance for gas (ETH/POL, decimal string)' }),
  vault: Type.Object({
    free: Ftns('free balance in the vault'),
    locked: Ftns('locked by this wallet as payer, not yet paid out'),
    pending: Ftns('withdrawal requested, not yet completed'),
    readyAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'when the pending withdrawal completes' })
  }),
  locks: Type.Array(LockView)
})

/** `POST /v1/wallet/deposit` and `POST /v1/wallet/withdraw`. */
// no pattern on amounts: the service's parser says precisely what is wrong (negative, too many decimals, ...)
export const AmountRequest = Type.Object({
  amount: Type.String({ minLength: 1, maxLength: 64, description: 'FTNS, decimal string with at most 18 decimals, e.g. "12.5"', examples: ['12.5'] })
}, { additionalProperties: false })

/** `POST /v1/wallet/send`. */
export const SendRequest = Type.Object({
  to: Type.String({ minLength: 1, maxLength: 64, description: '0x-prefixed recipient address' }),
  amount: AmountRequest.properties.amount
}, { additionalProperties: false })

/** What a wallet operation did. */
export const WalletTxResult = Type.Object({
  op: Type.Union([Type.Literal('deposit'), Type.Literal('withdraw'), Type.Literal('send')]),
  amount: Ftns('moved'),
  tx: Type.String({ description: 'transaction hash' }),
  /** Withdrawals: when the delay ends (the node completes it by itself then). */
  readyAt: Type.Optional(Type.String({ format: 'date-time' })),
  wallet: WalletView
})

/** `GET /v1/ledger`. */
export const LedgerInfoView = Type.Object({
  network: Type.String(),
  chainId: Type.Integer(),
  blockNumber: Type.Integer(),
  finalizedBlock: Type.Union([Type.Integer(), Type.Null()]),
  rpc: Type.String({ description: 'the RPC in use: "embedded anvil", or the index of the configured URL (URLs may hold keys)' }),
  contracts: Type.Object({ FTNSToken: Address, CreditVault: Address, ComputeMarket: Address })
})

/** One settlement (a transaction the node made exactly once). */
export const SettlementView = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  state: Type.String(),
  tx: Type.Union([Type.String(), Type.Null()]),
  blockNumber: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Optional(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' })
})

/** `GET /v1/ledger/settlements`. */
export const SettlementList = Type.Object({ settlements: Type.Array(SettlementView) })

export type LockView = Static<typeof LockView>
export type WalletView = Static<typeof WalletView>
export type AmountRequest = Static<typeof AmountRequest>
export type SendRequest = Static<typeof SendRequest>
export type WalletTxResult = Static<typeof WalletTxResult>
export type LedgerInfoView = Static<typeof LedgerInfoView>
export type SettlementView = Static<typeof SettlementView>
export type SettlementList = Static<typeof SettlementList>
