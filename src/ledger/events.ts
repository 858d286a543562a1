/** The ledger's entries of the node's event map (`/v1/events`). */
import { Type } from '@sinclair/typebox'
import { defineEvents, type EventsOf } from '../common/events.js'
import { chainEvents } from './chain/events.js'
import { marketEvents } from './market/service/events.js'

const Ftns = Type.String({ description: 'FTNS, decimal' })
const TxHash = Type.String({ description: 'transaction hash' })

/** The ledger events and their payload schemas (the chain client's included: intents, replacements, finality, reorgs). */
export const ledgerEvents = defineEvents({
  ...chainEvents,
  ...marketEvents,
  /** The ledger is up: chain reached, contracts found (or deployed on `local`), wallet open. */
  'ledger.ready': Type.Object({ network: Type.String(), chainId: Type.Integer(), address: Type.String(), deployed: Type.Boolean() }),
  /** The `local` faucet funded this node's wallet. */
  'ledger.funded': Type.Object({ ftns: Ftns, eth: Type.String() }),
  /** FTNS moved from the wallet into the vault. */
  'wallet.deposited': Type.Object({ amount: Ftns, tx: TxHash }),
  /** A vault withdrawal was requested; it completes by itself once `readyAt` passed. */
  'wallet.withdrawal-requested': Type.Object({ amount: Ftns, pending: Ftns, readyAt: Type.String(), tx: TxHash }),
  /** A pending vault withdrawal was completed: the FTNS are back in the wallet. */
  'wallet.withdrawn': Type.Object({ amount: Ftns, tx: TxHash }),
  /** FTNS sent from the wallet to another address. */
  'wallet.sent': Type.Object({ to: Type.String(), amount: Ftns, tx: TxHash })
})

/** The ledger events' payload types (what `EventSink<LedgerEvents>` accepts). */
export type LedgerEvents = EventsOf<typeof ledgerEvents>
