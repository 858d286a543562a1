/**
 * The market's refusal reasons: one table, each reason with its error kind (what the admin API answers), its gossip
 * action (whether the peer that sent such an order is penalised) and a one-line meaning. Every order a node refuses
 * and every fill it cannot plan carries one of these reasons, so nothing is declined silently.
 */
import { GossipValidationError, MeshError } from '../../common/errors.js'
import type { ErrorKind } from '../../common/errors.js'

/** One refusal reason's row. */
export interface RefusalRow {
  kind: ErrorKind
  /** 'reject' for what a well-behaved peer never sends; 'ignore' for what may just be stale or racing. */
  gossip: 'reject' | 'ignore'
  meaning: string
}

/** Every reason an order or a fill is refused. */
export const REFUSALS = {
  malformed: { kind: 'invalid', gossip: 'reject', meaning: 'the order does not match its schema or its cross-field rules' },
  'bad-signature': { kind: 'invalid', gossip: 'reject', meaning: 'the signature does not recover to the maker' },
  // a peer configured for another chain or deployment is not misbehaving: its orders are just not ours
  'wrong-chain': { kind: 'invalid', gossip: 'ignore', meaning: 'the order was signed for another chain id' },
  'wrong-contract': { kind: 'invalid', gossip: 'ignore', meaning: 'the order was signed for another ComputeMarket' },
  'wrong-market': { kind: 'invalid', gossip: 'reject', meaning: 'the order does not belong to this market (kind, quote token or lot size)' },
  'bad-peer-binding': { kind: 'invalid', gossip: 'reject', meaning: "the order's salt does not bind the announcing peer" },
  'unknown-market': { kind: 'not-found', gossip: 'ignore', meaning: 'no such market on this node' },
  expired: { kind: 'conflict', gossip: 'ignore', meaning: 'the order is past its expiry' },
  'window-closed': { kind: 'conflict', gossip: 'ignore', meaning: "the compute order's window has closed" },
  'outside-window': { kind: 'conflict', gossip: 'ignore', meaning: "the fill's units do not fit inside the order's window now" },
  cancelled: { kind: 'conflict', gossip: 'ignore', meaning: 'the maker cancelled the order' },
  'lane-stale': { kind: 'conflict', gossip: 'ignore', meaning: "the maker cancelled the order's nonce lane" },
  // a maker signs with the lane's nonce right after its lane cancel lands: a node whose read predates it sees this
  'lane-ahead': { kind: 'conflict', gossip: 'ignore', meaning: "the order's lane nonce is ahead of the lane as this node last read it" },
  filled: { kind: 'conflict', gossip: 'ignore', meaning: 'no units of the order remain' },
  unfunded: { kind: 'conflict', gossip: 'ignore', meaning: 'the maker lacks the vault balance, tokens or allowance to honour it' },
  'hardware-mismatch': { kind: 'invalid', gossip: 'reject', meaning: "the ask's resource class is not the maker's signed hardware" },
  // not the maker's fault: this node has not seen its record yet (an ask waits for it, bounded, then is refused)
  'hardware-unknown': { kind: 'unavailable', gossip: 'ignore', meaning: "the maker node's signed hardware record is not known here (yet)" },
  duplicate: { kind: 'conflict', gossip: 'ignore', meaning: 'the order is already in the book' },
  'book-full': { kind: 'unavailable', gossip: 'ignore', meaning: 'the book holds its maximum number of orders' },
  'would-cross': { kind: 'conflict', gossip: 'ignore', meaning: 'the rest of the order would cross the book and cannot be matched' },
  'below-min-fill': { kind: 'invalid', gossip: 'ignore', meaning: "the fill is below the order's minimum and does not take its whole rest" },
  overfill: { kind: 'conflict', gossip: 'ignore', meaning: 'the fill asks for more units than remain' },
  'self-fill': { kind: 'invalid', gossip: 'ignore', meaning: 'a maker cannot fill its own order' },
  'not-found': { kind: 'not-found', gossip: 'ignore', meaning: 'no order with that hash in the book' },
  'price-limit': { kind: 'conflict', gossip: 'ignore', meaning: 'no order within the limit price' },
  'no-liquidity': { kind: 'conflict', gossip: 'ignore', meaning: 'the book holds too few fillable units' },
  'too-many-orders': { kind: 'conflict', gossip: 'ignore', meaning: 'the fill would need more orders than one transaction carries' },
  'taker-unfunded': { kind: 'conflict', gossip: 'ignore', meaning: "this node's wallet or vault lacks what the fill costs" },
  'not-maker': { kind: 'forbidden', gossip: 'ignore', meaning: 'only the maker can cancel an order' },
  'tx-failed': { kind: 'conflict', gossip: 'ignore', meaning: 'the transaction failed on chain for another reason' },
  'not-ready': { kind: 'unavailable', gossip: 'ignore', meaning: 'the market is not running yet (ledger starting, off, or its chain unavailable)' }
} as const satisfies Record<string, RefusalRow>

/** A machine-readable refusal reason (`bad-signature`, `expired`, `unfunded`, ...). */
export type RefusalReason = keyof typeof REFUSALS

/** Every reason, for exhaustive tables, the OpenAPI enum and tests. */
export const REFUSAL_REASONS = Object.keys(REFUSALS) as RefusalReason[]

/** A refusal: its reason and a human message (the message is for people; match on the reason). */
export interface Refusal {
  reason: RefusalReason
  message: string
}

/** A result that is either a value or a refusal (pure checks return these instead of throwing). */
export type Checked<T> = { ok: true, value: T } | { ok: false, refusal: Refusal }

/** Builds a refusal result. */
export function refuse<T = never> (reason: RefusalReason, message: string = REFUSALS[reason].meaning): Checked<T> {
  return { ok: false, refusal: { reason, message } }
}

type Snake<S extends string> = S extends `${infer A}-${infer B}` ? `${A}_${Snake<B>}` : S
/** The error code of a reason: `bad-signature` -> `ERR_BAD_SIGNATURE`. */
export type MarketErrorCode = `ERR_${Uppercase<Snake<RefusalReason>>}`

/** The error code of `reason`. */
export function codeOf (reason: RefusalReason): MarketErrorCode {
  return `ERR_${reason.toUpperCase().replaceAll('-', '_')}` as MarketErrorCode
}

/** A market failure a caller can act on; `reason` is the refusal, `code` its ERR_ form, `kind` from the table. */
export class MarketError extends MeshError<MarketErrorCode> {
  readonly reason: RefusalReason
  constructor (reason: RefusalReason, message: string = REFUSALS[reason].meaning, options: { cause?: unknown } = {}) {
    super(codeOf(reason), message, { cause: options.cause, kind: REFUSALS[reason].kind })
    this.name = 'MarketError'
    this.reason = reason
  }

  /** The error for a refusal. */
  static of (refusal: Refusal): MarketError {
    return new MarketError(refusal.reason, refusal.message)
  }
}

/** The gossip validation error for a refusal: reject or ignore per the table, the ERR_ code as the metric label. */
export function gossipErrorOf (refusal: Refusal): GossipValidationError {
  return new GossipValidationError(REFUSALS[refusal.reason].gossip, codeOf(refusal.reason), refusal.message)
}
