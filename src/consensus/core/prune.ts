/**
 * Which consensus records a node may forget (pure: the service's prune.ts reads the index and writes the batch).
 *
 * A proposal is old once it was finalized and listed (or, never listed, its snapshot was) more than `retainEpochs`
 * epochs before the chain's head, and it closed more than `closedForMs` ago (the gossip freshness window: a record
 * forgotten here is refused on gossip as stale anyway, so forgetting it never lets a replay in). Of an old proposal:
 *   - rejected, expired, vetoed, or an accepted epoch proposal the chain did not take: everything goes;
 *   - an epoch proposal the chain took (its finalized epoch): the proposal and its QC stay (catch-up serves them and
 *     the chain is replayed from them at start), its votes and vetoes go (the QC carries the yes votes);
 *   - an accepted proposal an epoch listed: the proposal, its QC and the yes votes of the voters the epoch lists stay
 *     (catch-up rebuilds its QC from them, the chain's bonds count them), every other vote and veto goes.
 * Pending proposals, and accepted ones not yet listed by an epoch, are never touched. Evidence is never touched.
 */
import type { ProposalStatus } from './tally.js'

/** One vote as the index names it. */
export interface PruneVote {
  voter: string
  seq: number
  choice: 'yes' | 'no' | 'abstain'
}

/** One proposal as the rule sees it. */
export interface PruneProposal {
  id: string
  /** An `epoch` proposal (the chain's own kind). */
  chainKind: boolean
  status: ProposalStatus
  executed: boolean
  /** The epoch that listed it (epoch proposals: the epoch they finalized); null when none did. */
  epoch: number | null
  snapshot: number
  expiresAt: number
  /** Whether a QC of it is stored (epoch proposals: catch-up serves it instead of their votes). */
  hasQc: boolean
  /** The voters the listing epoch counts as its QC (accepted, listed proposals). */
  listedVoters?: readonly string[]
  votes: readonly PruneVote[]
  /** The guardians whose veto is stored. */
  vetoes: readonly string[]
}

/** What the rule decides from. */
export interface PruneInput {
  /** The chain's last finalized epoch. */
  head: number
  retainEpochs: number
  now: number
  /** A proposal must have closed at least this long ago (the record freshness window plus skew). */
  closedForMs: number
  proposals: Iterable<PruneProposal>
}

/** What to forget: whole proposals (with their QC, votes and vetoes), and single votes and vetoes of kept ones. */
export interface PrunePlan {
  proposals: string[]
  votes: Array<{ id: string, voter: string, seq: number }>
  vetoes: Array<{ id: string, guardian: string }>
}

/** Whether a proposal can no longer change here (and so is the chain's history, or nobody's). */
function settled (p: PruneProposal): boolean {
  if (p.status === 'rejected' || p.status === 'expired' || p.status === 'vetoed') return true
  // accepted: settled once an epoch listed it, or (epoch proposals) once executed, whether the chain took it or not
  return p.status === 'accepted' && p.executed && (p.epoch != null || p.chainKind)
}

/** Decide what to forget (see the module comment). Output sorted by id, so every call on the same index agrees. */
export function planPrune (input: PruneInput): PrunePlan {
  const plan: PrunePlan = { proposals: [], votes: [], vetoes: [] }
  if (!Number.isSafeInteger(input.retainEpochs) || input.retainEpochs < 0) return plan
  const sorted = [...input.proposals].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  for (const p of sorted) {
    if (!settled(p)) continue
    const age = p.epoch ?? p.snapshot
    if (input.head - age <= input.retainEpochs) continue
    if (input.now <= p.expiresAt + input.closedForMs) continue
    // listed by (or finalizing) an epoch: the chain's history, kept whatever else is known of it
    if (!(p.status === 'accepted' && p.epoch != null)) { plan.proposals.push(p.id); continue }
    // the votes are the only copy of its QC when no QC is stored, or when the epoch's voters are not known here
    if (p.chainKind ? !p.hasQc : p.listedVoters == null) continue
    // the chain's epoch proposal: its QC holds the yes votes; a listed proposal: the listed voters' yes votes stay
    const keep = new Set(p.chainKind ? [] : p.listedVoters)
    for (const v of p.votes) {
      if (v.choice === 'yes' && keep.has(v.voter) && v.seq <= p.expiresAt) continue
      plan.votes.push({ id: p.id, voter: v.voter, seq: v.seq })
    }
    for (const guardian of p.vetoes) plan.vetoes.push({ id: p.id, guardian })
  }
  return plan
}
