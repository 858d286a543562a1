/**
 * Reputation as the round protocol sees it: a number per peer that orders aggregator candidates (and, in the later
 * reputation-weighted tally, weighs votes). It must be a deterministic function of finalized history so that every
 * honest node computes the same value; until that exists every peer weighs the same.
 */

/** Read-only reputation lookup; higher is more trusted. Must return a finite number for every peer. */
export interface ReputationView {
  reputation: (peerId: string) => number
}

/** Every peer equal (0): aggregator rotation then falls back to peer id order. */
export const equalReputation: ReputationView = { reputation: () => 0 }
