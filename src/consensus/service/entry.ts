/**
 * A proposal as the service tracks it: the signed proposal, the signed votes and vetoes seen on it, its status, QC
 * and execution; and the pure steps over it (tally input, QC assembly, the API view).
 */
import type { CastVeto, CastVote, GuardianSet, ProposalStatus, TallyResult } from '../core/tally.js'
import { tallyProposal } from '../core/tally.js'
import type { ElectorateWeights } from '../core/weights.js'
import type { Proposal, Qc, VoteChoice } from '../protocol/schemas.js'
import type { ProposalView } from './api-schemas.js'

/** A verified vote envelope. */
export interface VoteRec {
  voter: string
  choice: VoteChoice
  seq: number
  bytes: Uint8Array
}

/** A verified veto envelope. */
export interface VetoRec {
  guardian: string
  reason: string
  at: number
  bytes: Uint8Array
}

/** One proposal's state. */
export interface Entry {
  id: string
  bytes: Uint8Array
  proposal: Proposal
  /** Every distinct vote envelope per voter (two with different choices are equivocation). */
  votes: Map<string, VoteRec[]>
  /** Epoch attempts: each voter's prevote (core/epoch-lock.ts), apart from the votes a tally or QC counts. */
  prevotes: Map<string, VoteRec>
  vetoes: Map<string, VetoRec>
  status: ProposalStatus
  qc?: Qc
  executed: boolean
  /** The epoch that listed it (epoch proposals: the epoch they finalized). */
  epoch: number | null
  /** Voters whose equivocation this node already turned into evidence. */
  evidenced: Set<string>
  /** The voters the chain (or, before an epoch lists it, this node's QC) counts as its agreeing yes votes. */
  qcVoters?: string[]
  /** The QC is public: this node published it as the proposer, or took it from the proposer (qcs.ts). */
  qcPublic?: boolean
  /** The latest tally (for the view). */
  tally?: TallyResult<VoteRec>
  /** The CID of its decision block in the blockstore (archive.ts), once archived here. */
  decision?: string
}

/** A fresh entry. */
export function newEntry (id: string, bytes: Uint8Array, proposal: Proposal): Entry {
  return { id, bytes, proposal, votes: new Map(), prevotes: new Map(), vetoes: new Map(), status: 'pending', executed: false, epoch: null, evidenced: new Set() }
}

/** Keep a voter's prevote unless it holds one already (an honest member prevotes once); returns whether it was new. */
export function addPrevote (e: Entry, v: VoteRec): boolean {
  if (e.prevotes.has(v.voter)) return false
  e.prevotes.set(v.voter, v)
  return true
}

/** Keep a vote envelope unless the same one is already there; returns whether it was new. */
export function addVoteRec (e: Entry, v: VoteRec): boolean {
  const list = e.votes.get(v.voter) ?? []
  if (list.some(x => x.choice === v.choice && x.seq === v.seq)) return false
  // the same voter's same choice again (a re-sign) adds nothing to the tally: keep the first only
  if (list.some(x => x.choice === v.choice)) return false
  list.push(v)
  e.votes.set(v.voter, list)
  return true
}

/**
 * The vote the entry holds with exactly these bytes, if any (a vote kept here was verified when it arrived), over the
 * votes held now: indexed by each envelope's last 32 bytes (its signature's), then compared in full.
 */
export function heldVote (e: Entry): (bytes: Uint8Array) => VoteRec | undefined {
  const tail = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset + Math.max(0, b.byteLength - 32), Math.min(32, b.byteLength)).toString('latin1')
  const index = new Map<string, VoteRec[]>()
  for (const list of e.votes.values()) {
    for (const v of list) index.set(tail(v.bytes), [...(index.get(tail(v.bytes)) ?? []), v])
  }
  return bytes => index.get(tail(bytes))?.find(v => Buffer.compare(v.bytes, bytes) === 0)
}

/** A test for "the entry already holds exactly these vote bytes" (`heldVote`; with `prevotes`, its prevotes too). */
export function heldVotes (e: Entry, prevotes = false): (bytes: Uint8Array) => boolean {
  const find = heldVote(e)
  const pre = new Set(prevotes ? [...e.prevotes.values()].map(v => Buffer.from(v.bytes).toString('latin1')) : [])
  return bytes => find(bytes) != null || (pre.size > 0 && pre.has(Buffer.from(bytes).toString('latin1')))
}

/**
 * Tally an entry under its electorate's weights. Votes signed after the proposal expired do not count (so once a
 * proposal expired everywhere, no QC can form for it later). Vetoes count only when the kind is vetoable.
 */
export function tallyEntry (e: Entry, weights: ElectorateWeights, guardians: GuardianSet | undefined, now: number): TallyResult<VoteRec> {
  const votes: Array<CastVote<VoteRec>> = []
  for (const list of e.votes.values()) {
    for (const v of list) if (v.seq <= e.proposal.expiresAt) votes.push({ voter: v.voter, proposalId: e.id, choice: v.choice, record: v })
  }
  const vetoes: CastVeto[] = [...e.vetoes.values()].map(v => ({ guardian: v.guardian, proposalId: e.id, at: v.at }))
  return tallyProposal({ proposalId: e.id, expiresAt: e.proposal.expiresAt, weights, votes, vetoes, guardians, now })
}

/** The QC over `voters` (sorted): each one's counted yes vote, in voter order. */
export function qcOf (e: Entry, voters: readonly string[]): Qc {
  const votes: Uint8Array[] = []
  for (const voter of voters) {
    const v = e.votes.get(voter)?.find(x => x.choice === 'yes' && x.seq <= e.proposal.expiresAt)
    if (v != null) votes.push(v.bytes)
  }
  return { proposalId: e.id, epoch: e.proposal.snapshot, votes }
}

/**
 * The distinct voters of `votes` when each is a counted yes vote held on the entry (so verified here), sorted;
 * undefined when any is not (a QC this node cannot take as it stands).
 */
export function heldYesVoters (e: Entry, votes: readonly Uint8Array[]): string[] | undefined {
  const find = heldVote(e)
  const voters = new Set<string>()
  for (const b of votes) {
    const v = find(b)
    if (v == null || v.choice !== 'yes' || v.seq > e.proposal.expiresAt) return undefined
    voters.add(v.voter)
  }
  return [...voters].sort()
}

const iso = (ms: number): string => new Date(ms).toISOString()

/** The API view of an entry. */
export function entryView (e: Entry): ProposalView {
  const t = e.tally
  const view: ProposalView = {
    id: e.id,
    kind: e.proposal.kind,
    payload: e.proposal.payload,
    proposer: e.proposal.proposer,
    createdAt: iso(e.proposal.createdAt),
    expiresAt: iso(e.proposal.expiresAt),
    snapshot: e.proposal.snapshot,
    status: e.status,
    executed: e.executed,
    epoch: e.epoch,
    tally: {
      yes: String(t?.yes ?? 0n), no: String(t?.no ?? 0n), abstain: String(t?.abstain ?? 0n), quorum: String(t?.quorum ?? 0n), weightTotal: String(t?.weightTotal ?? 0n)
    },
    votes: [...e.votes.values()].flat().sort((a, b) => a.seq - b.seq).map(v => ({ voter: v.voter, choice: v.choice, at: iso(v.seq) })),
    vetoes: [...e.vetoes.values()].map(v => ({ guardian: v.guardian, reason: v.reason }))
  }
  if (e.prevotes.size > 0) view.prevotes = [...e.prevotes.values()].sort((a, b) => a.seq - b.seq).map(v => ({ voter: v.voter, at: iso(v.seq) }))
  if (e.qc != null) view.certificate = { epoch: e.qc.epoch, voters: e.qcVoters ?? [], votes: e.qc.votes.length }
  if (e.decision != null) view.decision = e.decision
  return view
}
